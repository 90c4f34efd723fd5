using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace AllReduceNet.Kernels.Cpu;

/// <summary>
/// Adds the signed ChaCha8 masks of every peer to a range of quantized values: the cryptographic alternative to
/// <see cref="PhiloxMasking"/> with the same contract. Element k of a range is element k of each peer's mask stream
/// (<see cref="ChaCha.MaskBatch"/>), so any split of a vector into ranges gives the same masks. Whole batches inside
/// the range are added straight from the registers, two at a time with AVX-512
/// (<see cref="ChaChaBlocks.AddBatch512x2"/>); a batch that the range cuts is computed whole and its part added.
/// </summary>
internal static class ChaChaMasking
{
    /// <summary>q[start .. start+len) += sum over peers of sign * mask (wrapping modulo 2^32).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static void AddMasks(Span<int> q, int start, int len, MaskPeer[] peers)
    {
        if (len <= 0) return;
        Span<uint> state = stackalloc uint[16];
        Span<uint> words = stackalloc uint[ChaCha.BatchWords];
        var masks = MemoryMarshal.Cast<uint, int>(words);
        int end = start + len;
        ref int q0 = ref MemoryMarshal.GetReference(q);
        foreach (var peer in peers)
        {
            ChaCha.MaskState(peer.Seed, 0, state);
            var sign = Vector512.Create(peer.Sign > 0 ? 0 : -1);
            long batch = start / ChaCha.BatchWords;
            while (batch * ChaCha.BatchWords < end)
            {
                int first = (int)(batch * ChaCha.BatchWords);
                SetBlock(state, (ulong)batch * ChaCha.BatchBlocks);
                if (Avx512F.IsSupported && first >= start && first + 2 * ChaCha.BatchWords <= end)
                {
                    ChaChaBlocks.AddBatch512x2(state, ChaCha.MaskRounds / 2, ref System.Runtime.CompilerServices.Unsafe.Add(ref q0, first), sign);
                    batch += 2;
                    continue;
                }
                if (Avx512F.IsSupported && first >= start && first + ChaCha.BatchWords <= end)
                {
                    ChaChaBlocks.AddBatch512(state, ChaCha.MaskRounds / 2, ref System.Runtime.CompilerServices.Unsafe.Add(ref q0, first), sign);
                    batch++;
                    continue;
                }
                ChaChaBlocks.Batch(state, ChaCha.MaskRounds, words);
                int from = Math.Max(start, first), to = Math.Min(end, first + ChaCha.BatchWords);
                var target = q.Slice(from, to - from);
                var mask = masks.Slice(from - first, to - from);
                if (peer.Sign > 0) TensorPrimitives.Add(target, mask, target);
                else TensorPrimitives.Subtract(target, mask, target);
                batch++;
            }
        }
    }

    private static void SetBlock(Span<uint> state, ulong block)
    {
        state[12] = (uint)block;
        state[13] = (uint)(block >> 32);
    }
}
