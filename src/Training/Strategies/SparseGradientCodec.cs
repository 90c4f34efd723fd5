using System.Numerics;
using System.Runtime.InteropServices;

namespace AllReduceNet.Training.Strategies;

/// <summary>
/// Encodes a gradient slice of n entries, k of them non-zero, for a push to a parameter server, as ints, in whichever
/// of three forms is smallest (only changed entries travel in the last two):
/// <code>
/// dense   [0, n, n float bits]                              2 + n ints
/// bitmap  [1, k, ceil(n/32) mask words, k float bits]       2 + ceil(n/32) + k ints
/// indices [2, k, k indices, k float bits]                   2 + 2k ints
/// </code>
/// A ReLU network's gradients are zero wherever an input pixel is blank or a unit is inactive for the whole batch, so
/// pushes shrink without any loss: decoding adds exactly the same floats.
/// </summary>
internal static class SparseGradientCodec
{
    public static int Capacity(int length) => 2 + length;

    private static int MaskWords(int length) => (length + 31) / 32;

    /// <summary>Writes the message; returns its length in ints.</summary>
    public static int Encode(ReadOnlySpan<float> gradient, Span<int> message)
    {
        int n = gradient.Length, nonZero = 0;
        foreach (float g in gradient) if (g != 0f) nonZero++;
        int dense = 2 + n, bitmap = 2 + MaskWords(n) + nonZero, indices = 2 + 2 * nonZero;
        message[1] = nonZero;
        if (dense <= bitmap && dense <= indices)
        {
            message[0] = 0;
            message[1] = n;
            MemoryMarshal.Cast<float, int>(gradient).CopyTo(message[2..]);
            return dense;
        }
        if (indices <= bitmap)
        {
            message[0] = 2;
            var positions = message.Slice(2, nonZero);
            var values = MemoryMarshal.Cast<int, float>(message.Slice(2 + nonZero, nonZero));
            int k = 0;
            for (int i = 0; i < n; i++)
                if (gradient[i] != 0f) { positions[k] = i; values[k] = gradient[i]; k++; }
            return indices;
        }
        message[0] = 1;
        var mask = message.Slice(2, MaskWords(n));
        mask.Clear();
        var packed = MemoryMarshal.Cast<int, float>(message.Slice(2 + mask.Length, nonZero));
        int j = 0;
        for (int i = 0; i < n; i++)
            if (gradient[i] != 0f) { mask[i >> 5] |= 1 << (i & 31); packed[j++] = gradient[i]; }
        return bitmap;
    }

    /// <summary>Adds the message's entries into <paramref name="accumulator"/>.</summary>
    /// <exception cref="InvalidDataException">The message is malformed for this slice.</exception>
    public static void AddTo(ReadOnlySpan<int> message, Span<float> accumulator)
    {
        int n = accumulator.Length, count = message[1];
        switch (message[0])
        {
            case 0 when count == n && message.Length >= 2 + n:
            {
                var values = MemoryMarshal.Cast<int, float>(message.Slice(2, n));
                for (int i = 0; i < n; i++) accumulator[i] += values[i];
                return;
            }
            case 1 when message.Length >= 2 + MaskWords(n) + count:
            {
                var mask = message.Slice(2, MaskWords(n));
                var values = MemoryMarshal.Cast<int, float>(message.Slice(2 + mask.Length, count));
                int j = 0;
                for (int word = 0; word < mask.Length; word++)
                    for (uint bits = (uint)mask[word]; bits != 0; bits &= bits - 1)
                        accumulator[(word << 5) + BitOperations.TrailingZeroCount(bits)] += values[j++];
                if (j != count) throw new InvalidDataException($"bitmap push announces {count} values but its mask has {j}.");
                return;
            }
            case 2 when message.Length >= 2 + 2 * count:
            {
                var positions = message.Slice(2, count);
                var values = MemoryMarshal.Cast<int, float>(message.Slice(2 + count, count));
                for (int k = 0; k < count; k++) accumulator[positions[k]] += values[k];
                return;
            }
            default:
                throw new InvalidDataException($"malformed push (kind {message[0]}, count {count}, {message.Length} ints) for a shard of {n}.");
        }
    }
}
