using System.Runtime.InteropServices;

namespace AllReduceNet.Training.Strategies;

/// <summary>
/// Encodes a gradient slice for a push to a parameter server as ints: [0, n, n float bits] (dense) or
/// [1, k, k indices, k float bits] (sparse: only the k non-zero entries). Sparse is chosen when it is smaller, i.e.
/// when fewer than half the entries are non-zero. A ReLU network's gradients are sparse where inputs or units are
/// zero (blank pixels, dead units), so pushes shrink without any loss.
/// </summary>
internal static class SparseGradientCodec
{
    public static int Capacity(int length) => 2 + length;

    /// <summary>Writes the message; returns its length in ints.</summary>
    public static int Encode(ReadOnlySpan<float> gradient, Span<int> message)
    {
        int nonZero = 0;
        foreach (float g in gradient) if (g != 0f) nonZero++;
        if (2 * nonZero >= gradient.Length)
        {
            message[0] = 0;
            message[1] = gradient.Length;
            MemoryMarshal.Cast<float, int>(gradient).CopyTo(message[2..]);
            return 2 + gradient.Length;
        }
        message[0] = 1;
        message[1] = nonZero;
        var indices = message.Slice(2, nonZero);
        var values = MemoryMarshal.Cast<int, float>(message.Slice(2 + nonZero, nonZero));
        int k = 0;
        for (int i = 0; i < gradient.Length; i++)
            if (gradient[i] != 0f) { indices[k] = i; values[k] = gradient[i]; k++; }
        return 2 + 2 * nonZero;
    }

    /// <summary>Adds the message's entries into <paramref name="accumulator"/>.</summary>
    /// <exception cref="InvalidDataException">The message is malformed for this slice.</exception>
    public static void AddTo(ReadOnlySpan<int> message, Span<float> accumulator)
    {
        int count = message[1];
        if (message[0] == 0)
        {
            if (count != accumulator.Length || message.Length < 2 + count)
                throw new InvalidDataException($"dense push of {count} values for a shard of {accumulator.Length}.");
            var values = MemoryMarshal.Cast<int, float>(message.Slice(2, count));
            for (int i = 0; i < count; i++) accumulator[i] += values[i];
            return;
        }
        if (message[0] != 1 || message.Length < 2 + 2 * count)
            throw new InvalidDataException($"malformed push (kind {message[0]}, {count} entries, {message.Length} ints).");
        var indices = message.Slice(2, count);
        var sparse = MemoryMarshal.Cast<int, float>(message.Slice(2 + count, count));
        for (int k = 0; k < count; k++) accumulator[indices[k]] += sparse[k];
    }
}
