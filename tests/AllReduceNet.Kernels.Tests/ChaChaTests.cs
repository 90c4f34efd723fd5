using System.Buffers.Binary;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Security.Cryptography;
using AllReduceNet.Kernels.Cpu;

namespace AllReduceNet.Kernels.Tests;

/// <summary>
/// ChaCha (<see cref="ChaCha"/>, <see cref="ChaChaBlocks"/>, <see cref="ChaChaMasking"/>): the round function against
/// RFC 8439's known answers and against the system's ChaCha20-Poly1305, every vector path against the scalar block
/// function, and the masks of any range against the stream's definition.
/// </summary>
public class ChaChaTests
{
    /// <summary>The RFC 8439 state: "expand 32-byte k", the key, a 32-bit block counter and a 96-bit nonce.</summary>
    private static uint[] RfcState(ReadOnlySpan<byte> key, uint counter, ReadOnlySpan<byte> nonce)
    {
        var state = new uint[16];
        state[0] = ChaCha.Sigma0; state[1] = ChaCha.Sigma1; state[2] = ChaCha.Sigma2; state[3] = ChaCha.Sigma3;
        for (int i = 0; i < 8; i++) state[4 + i] = BinaryPrimitives.ReadUInt32LittleEndian(key[(4 * i)..]);
        state[12] = counter;
        for (int i = 0; i < 3; i++) state[13 + i] = BinaryPrimitives.ReadUInt32LittleEndian(nonce[(4 * i)..]);
        return state;
    }

    [Fact]
    public void Block_MatchesRfc8439Section2_3_2()
    {
        var key = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
        var nonce = Convert.FromHexString("000000090000004a00000000");
        var output = new uint[16];
        ChaCha.Block(RfcState(key, 1, nonce), 20, output);
        uint[] expected =
        [
            0xe4e7f110, 0x15593bd1, 0x1fdd0f50, 0xc47120a3, 0xc7f4d1c7, 0x0368c033, 0x9aaa2204, 0x4e6cd4c3,
            0x466482d2, 0x09aa9f07, 0x05d7c214, 0xa2028bd9, 0xd19c12b5, 0xb94e16de, 0xe883d0cb, 0x4e3c50a2,
        ];
        Assert.Equal(expected, output);
    }

    [Fact]
    public void QuarterRound_MatchesRfc8439Section2_1_1()
    {
        uint[] x = [0x11111111, 0x01020304, 0x9b8d6f43, 0x01234567];
        ChaCha.QuarterRound(x, 0, 1, 2, 3);
        Assert.Equal(new uint[] { 0xea2a92f4, 0xcb1cf8ce, 0x4581472e, 0x5881c4bb }, x);
    }

    /// <summary>
    /// ChaCha20-Poly1305 (RFC 8439, via the system's library) encrypts with key stream blocks 1, 2, ...: encrypting
    /// zeros gives them. The scalar block and the 16-block vector batch must both reproduce them.
    /// </summary>
    [Fact]
    public void ScalarAndVectorBatches_MatchTheSystemsChaCha20Poly1305KeyStream()
    {
        Assert.True(ChaCha20Poly1305.IsSupported, "this test needs the system's ChaCha20-Poly1305 (OpenSSL 1.1 or later)");
        var rng = new Random(8439);
        for (int trial = 0; trial < 4; trial++)
        {
            var key = new byte[32];
            var nonce = new byte[12];
            rng.NextBytes(key);
            rng.NextBytes(nonce);
            var zeros = new byte[ChaCha.BatchWords * 4];
            var stream = new byte[zeros.Length];
            using (var aead = new ChaCha20Poly1305(key))
                aead.Encrypt(nonce, zeros, stream, new byte[16]);
            var state = RfcState(key, 1, nonce);
            var words = new uint[ChaCha.BatchWords];
            ChaChaBlocks.Batch(state, 20, words);
            var block = new uint[16];
            for (int b = 0; b < ChaCha.BatchBlocks; b++)
            {
                var scalarState = (uint[])state.Clone();
                scalarState[12] += (uint)b;
                ChaCha.Block(scalarState, 20, block);
                for (int j = 0; j < 16; j++)
                {
                    uint expected = BinaryPrimitives.ReadUInt32LittleEndian(stream.AsSpan(64 * b + 4 * j));
                    Assert.Equal(expected, block[j]);
                    Assert.Equal(expected, words[16 * j + b]);
                }
            }
        }
    }

    /// <summary>Every vector path gives the scalar path's words, also where the 64-bit block counter carries into its high word.</summary>
    [Theory]
    [InlineData(0ul)]
    [InlineData(0xFFFF_FFF8ul)]
    [InlineData(0x1234_5678_9ABC_DEF0ul)]
    public void VectorPaths_EqualTheScalarPath(ulong firstBlock)
    {
        var seed = new Seed128(0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u);
        var state = new uint[16];
        ChaCha.MaskState(seed, firstBlock, state);
        var expected = new uint[2 * ChaCha.BatchWords];
        ChaChaBlocks.BatchScalar(state, ChaCha.MaskRounds, expected);
        var next = (uint[])state.Clone();
        ulong second = firstBlock + ChaCha.BatchBlocks;
        (next[12], next[13]) = ((uint)second, (uint)(second >> 32));
        ChaChaBlocks.BatchScalar(next, ChaCha.MaskRounds, expected.AsSpan(ChaCha.BatchWords));
        var reference = new uint[ChaCha.BatchWords];
        ChaCha.MaskBatch(seed, firstBlock / ChaCha.BatchBlocks, reference);
        if (firstBlock % ChaCha.BatchBlocks == 0) Assert.Equal(reference, expected.Take(ChaCha.BatchWords));

        var words = new uint[ChaCha.BatchWords];
        if (Avx2.IsSupported)
        {
            ChaChaBlocks.Batch256(state, ChaCha.MaskRounds / 2, 0, words);
            ChaChaBlocks.Batch256(state, ChaCha.MaskRounds / 2, 8, words);
            Assert.Equal(expected.Take(ChaCha.BatchWords), words);
        }
        if (!Avx512F.IsSupported) return;
        Array.Clear(words);
        ChaChaBlocks.Batch512(state, ChaCha.MaskRounds / 2, words);
        Assert.Equal(expected.Take(ChaCha.BatchWords), words);

        var start = Enumerable.Range(0, 2 * ChaCha.BatchWords).Select(i => i * 7919).ToArray();
        foreach (bool negate in new[] { false, true })
        {
            var sign = Vector512.Create(negate ? -1 : 0);
            var one = (int[])start.Clone();
            var two = (int[])start.Clone();
            ChaChaBlocks.AddBatch512(state, ChaCha.MaskRounds / 2, ref one[0], sign);
            ChaChaBlocks.AddBatch512(next, ChaCha.MaskRounds / 2, ref one[ChaCha.BatchWords], sign);
            ChaChaBlocks.AddBatch512x2(state, ChaCha.MaskRounds / 2, ref two[0], sign);
            for (int i = 0; i < start.Length; i++)
            {
                int want = negate ? start[i] - (int)expected[i] : start[i] + (int)expected[i];
                Assert.Equal(want, one[i]);
                Assert.Equal(want, two[i]);
            }
        }
    }

    /// <summary>Masks added over any range (ragged starts and ends, several peers, both signs) equal the stream's words at those elements.</summary>
    [Fact]
    public void AddMasks_OverAnyRange_AddsTheStreamsWordsAtThoseElements()
    {
        var rng = new Random(17);
        var peers = Enumerable.Range(0, 3).Select(p => new MaskPeer
        {
            Seed = new Seed128((uint)rng.NextInt64(), (uint)rng.NextInt64(), (uint)rng.NextInt64(), (uint)rng.NextInt64()),
            Sign = p == 1 ? -1 : 1,
        }).ToArray();
        const int length = 5000;
        var streams = peers.Select(p =>
        {
            var words = new uint[(length / ChaCha.BatchWords + 1) * ChaCha.BatchWords];
            for (int b = 0; b * ChaCha.BatchWords < length; b++)
                ChaCha.MaskBatch(p.Seed, (ulong)b, words.AsSpan(b * ChaCha.BatchWords, ChaCha.BatchWords));
            return words;
        }).ToArray();
        foreach (var (start, count) in new[] { (0, length), (4, 1), (16, 240), (16, 1040), (252, 777), (256, 512), (300, 4700), (4999, 1) })
        {
            var q = Enumerable.Range(0, length).Select(i => i * 31 - 77).ToArray();
            ChaChaMasking.AddMasks(q, start, count, peers);
            for (int i = 0; i < length; i++)
            {
                int want = i * 31 - 77;
                if (i >= start && i < start + count)
                    for (int p = 0; p < peers.Length; p++) want += peers[p].Sign * (int)streams[p][i];
                Assert.True(want == q[i], $"range [{start}, {start + count}): element {i} is {q[i]}, the stream gives {want}");
            }
        }
    }

    [Fact]
    public void MaskStreams_DifferBySeed_AndLookUniform()
    {
        var a = new uint[ChaCha.BatchWords * 64];
        var b = new uint[ChaCha.BatchWords * 64];
        for (int batch = 0; batch < 64; batch++)
        {
            ChaCha.MaskBatch(new Seed128(1, 2, 3, 4), (ulong)batch, a.AsSpan(batch * ChaCha.BatchWords, ChaCha.BatchWords));
            ChaCha.MaskBatch(new Seed128(1, 2, 3, 5), (ulong)batch, b.AsSpan(batch * ChaCha.BatchWords, ChaCha.BatchWords));
        }
        Assert.True(a.Zip(b).Count(p => p.First == p.Second) < 4, "two seeds that differ in one bit gave the same words");
        var counts = new int[256];
        foreach (uint w in a) counts[w >> 24]++;
        double expected = a.Length / 256.0, chi = counts.Sum(c => (c - expected) * (c - expected) / expected);
        Assert.True(chi < 350, $"chi-square {chi:F0} on the top byte over 255 degrees of freedom");
    }
}
