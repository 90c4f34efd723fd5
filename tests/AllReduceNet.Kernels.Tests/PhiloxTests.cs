using AllReduceNet.Kernels;

namespace AllReduceNet.Kernels.Tests;

public class PhiloxTests
{
    // Random123 tests/kat_vectors, "philox4x32 10" lines: counter (4 words), key (2 words), expected output (4 words).
    public static TheoryData<uint[], uint[], uint[]> KnownAnswers => new()
    {
        { [0u, 0u, 0u, 0u], [0u, 0u], [0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u] },
        { [0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu], [0xffffffffu, 0xffffffffu], [0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu] },
        { [0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u], [0xa4093822u, 0x299f31d0u], [0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u] },
    };

    [Theory]
    [MemberData(nameof(KnownAnswers))]
    public void Generate_MatchesRandom123KnownAnswers(uint[] counter, uint[] key, uint[] expected)
    {
        UInt4 w = Philox4x32.Generate(new UInt4(counter[0], counter[1], counter[2], counter[3]), key[0], key[1]);
        Assert.Equal(expected, new[] { w.X0, w.X1, w.X2, w.X3 });
        Assert.Equal(expected, Reference.Philox(counter, key));
    }

    [Fact]
    public void StreamBlock_UsesBlockIndexAsLowCounterAndSeedForTheRest()
    {
        var seed = new Seed128(0xa4093822u, 0x299f31d0u, 0x13198a2eu, 0x03707344u);
        var rng = new Random(5);
        for (int t = 0; t < 100; t++)
        {
            long block = rng.NextInt64(0, long.MaxValue);
            UInt4 w = Philox4x32.StreamBlock(seed, block);
            uint[] e = Reference.Philox([(uint)block, (uint)(block >> 32), seed.W2, seed.W3], [seed.W0, seed.W1]);
            Assert.Equal(e, new[] { w.X0, w.X1, w.X2, w.X3 });
        }
    }

    [Fact]
    public void Seed128_FromUInt64_SplitsLowAndHighWords()
    {
        var s = Seed128.FromUInt64(0x1122334455667788UL, 0x99aabbccddeeff00UL);
        Assert.Equal(new Seed128(0x55667788u, 0x11223344u, 0xddeeff00u, 0x99aabbccu), s);
    }
}
