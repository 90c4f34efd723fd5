namespace AllReduceNet.Kernels;

/// <summary>
/// A 128-bit seed that names one Philox4x32-10 stream (see <see cref="Philox4x32.StreamBlock"/>): W0 and W1 are the
/// key, W2 and W3 the upper half of the counter. In masked aggregation it is the secret that clients i and j agree on
/// (for instance by Diffie-Hellman); in differential privacy it must be fresh for every step.
/// </summary>
/// <param name="W0">Word 0 (key word 0).</param>
/// <param name="W1">Word 1 (key word 1).</param>
/// <param name="W2">Word 2 (counter word 2).</param>
/// <param name="W3">Word 3 (counter word 3).</param>
public readonly record struct Seed128(uint W0, uint W1, uint W2, uint W3)
{
    /// <summary>Builds a seed from two 64-bit halves: <paramref name="low"/> gives W0, W1 and <paramref name="high"/> W2, W3.</summary>
    /// <param name="low">Words 0 and 1.</param>
    /// <param name="high">Words 2 and 3.</param>
    /// <returns>The seed.</returns>
    public static Seed128 FromUInt64(ulong low, ulong high) =>
        new((uint)low, (uint)(low >> 32), (uint)high, (uint)(high >> 32));

    /// <summary>Reads a seed from 16 bytes, four little-endian words (as a key derivation's output is taken).</summary>
    /// <param name="bytes">At least 16 bytes; the first 16 are read.</param>
    /// <returns>The seed.</returns>
    public static Seed128 FromBytes(ReadOnlySpan<byte> bytes) => new(
        System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(bytes),
        System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(bytes[4..]),
        System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(bytes[8..]),
        System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(bytes[12..]));
}
