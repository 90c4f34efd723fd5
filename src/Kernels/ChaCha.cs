using System.Numerics;
using System.Runtime.CompilerServices;

namespace AllReduceNet.Kernels;

/// <summary>
/// The ChaCha block function (Bernstein 2008; the round function and state layout of RFC 8439, section 2.3) in plain
/// scalar code, and the mask stream built on it: the reference that the vector code in
/// <see cref="Cpu.ChaChaBlocks"/> is tested against, and its path for the ragged ends.
/// <para>
/// The mask stream of a 128-bit seed is ChaCha with a 16-byte key (Bernstein's original "expand 16-byte k" layout:
/// constants, the key twice, a 64-bit block counter in words 12 and 13, words 14 and 15 zero; no nonce is needed
/// because every seed is fresh, HKDF output for one pair and one call), and <see cref="MaskRounds"/> = 8 rounds.
/// Its words are laid out for 16-lane vectors: a batch is 16 consecutive blocks, and element 256 b + 16 j + l of the
/// stream is word j of block 16 b + l, so one 512-bit register of the vector code holds 16 consecutive elements and
/// no transpose is needed.
/// </para>
/// </summary>
internal static class ChaCha
{
    /// <summary>"expand 16-byte k" as four little-endian words: the constants of a 128-bit key.</summary>
    public const uint Tau0 = 0x61707865u, Tau1 = 0x3120646eu, Tau2 = 0x79622d36u, Tau3 = 0x6b206574u;

    /// <summary>"expand 32-byte k" as four little-endian words: the constants of a 256-bit key (RFC 8439).</summary>
    public const uint Sigma0 = 0x61707865u, Sigma1 = 0x3320646eu, Sigma2 = 0x79622d32u, Sigma3 = 0x6b206574u;

    /// <summary>Rounds of the mask stream: ChaCha8.</summary>
    public const int MaskRounds = 8;

    /// <summary>Blocks per batch of the mask stream (one per lane of a 512-bit vector).</summary>
    public const int BatchBlocks = 16;

    /// <summary>Words per batch of the mask stream: 16 blocks of 16 words.</summary>
    public const int BatchWords = 256;

    /// <summary>
    /// One ChaCha block: <paramref name="rounds"/> rounds (even: pairs of a column and a diagonal round) over
    /// <paramref name="state"/>, then the state added word by word (RFC 8439, section 2.3.1).
    /// </summary>
    /// <param name="state">The 16 input words: constants, key, counter and nonce.</param>
    /// <param name="rounds">8, 12 or 20 (any even count).</param>
    /// <param name="output">The 16 output words.</param>
    public static void Block(ReadOnlySpan<uint> state, int rounds, Span<uint> output)
    {
        if (state.Length != 16 || output.Length < 16 || rounds <= 0 || rounds % 2 != 0)
            throw new ArgumentException($"ChaCha.Block needs 16 state words, 16 output words and an even round count; got {state.Length}, {output.Length}, {rounds}.");
        Span<uint> x = stackalloc uint[16];
        state.CopyTo(x);
        for (int r = 0; r < rounds; r += 2)
        {
            QuarterRound(x, 0, 4, 8, 12);
            QuarterRound(x, 1, 5, 9, 13);
            QuarterRound(x, 2, 6, 10, 14);
            QuarterRound(x, 3, 7, 11, 15);
            QuarterRound(x, 0, 5, 10, 15);
            QuarterRound(x, 1, 6, 11, 12);
            QuarterRound(x, 2, 7, 8, 13);
            QuarterRound(x, 3, 4, 9, 14);
        }
        for (int i = 0; i < 16; i++) output[i] = x[i] + state[i];
    }

    /// <summary>The quarter round of RFC 8439, section 2.1, on four words of <paramref name="x"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void QuarterRound(Span<uint> x, int a, int b, int c, int d)
    {
        x[a] += x[b]; x[d] = BitOperations.RotateLeft(x[d] ^ x[a], 16);
        x[c] += x[d]; x[b] = BitOperations.RotateLeft(x[b] ^ x[c], 12);
        x[a] += x[b]; x[d] = BitOperations.RotateLeft(x[d] ^ x[a], 8);
        x[c] += x[d]; x[b] = BitOperations.RotateLeft(x[b] ^ x[c], 7);
    }

    /// <summary>The input state of block <paramref name="block"/> of <paramref name="seed"/>'s mask stream.</summary>
    public static void MaskState(Seed128 seed, ulong block, Span<uint> state)
    {
        state[0] = Tau0; state[1] = Tau1; state[2] = Tau2; state[3] = Tau3;
        state[4] = seed.W0; state[5] = seed.W1; state[6] = seed.W2; state[7] = seed.W3;
        state[8] = seed.W0; state[9] = seed.W1; state[10] = seed.W2; state[11] = seed.W3;
        state[12] = (uint)block; state[13] = (uint)(block >> 32); state[14] = 0; state[15] = 0;
    }

    /// <summary>Batch <paramref name="batch"/> of <paramref name="seed"/>'s mask stream (elements 256 batch ..
    /// 256 batch + 255, in element order), block by block: the reference for the vector code.</summary>
    public static void MaskBatch(Seed128 seed, ulong batch, Span<uint> words)
    {
        Span<uint> state = stackalloc uint[16];
        Span<uint> block = stackalloc uint[16];
        for (int lane = 0; lane < BatchBlocks; lane++)
        {
            MaskState(seed, batch * BatchBlocks + (ulong)lane, state);
            Block(state, MaskRounds, block);
            for (int j = 0; j < 16; j++) words[16 * j + lane] = block[j];
        }
    }
}
