using System.Numerics;
using AllReduceNet.Collectives.Algorithms;
using AllReduceNet.Collectives.Operators;

namespace AllReduceNet.Collectives;

public abstract unsafe partial class Communicator
{
    /// <summary>
    /// ReduceScatter (MPI_Reduce_scatter_block): <paramref name="input"/> holds N blocks of k elements; rank r's
    /// <paramref name="result"/> (k elements) receives the reduction over all ranks of block r. Around a ring; the
    /// input is not changed.
    /// </summary>
    /// <exception cref="ArgumentException">The input is not N x k elements, or the result holds fewer than k.</exception>
    /// <exception cref="CollectiveMismatchException">Ranks passed different counts, types or operators.</exception>
    /// <exception cref="CommunicationTimeoutException">A peer did not arrive in time.</exception>
    public void ReduceScatter<T>(ReadOnlySpan<T> input, Span<T> result, ReduceOp op, CollectiveOptions? options = null) where T : unmanaged, INumber<T>
    {
        ThrowIfDisposed();
        if (input.Length % Size != 0)
            ThrowHelper.Argument(nameof(input), $"rank {Rank}: ReduceScatter needs N x k input elements; {input.Length} is not a multiple of {Size} ranks.");
        int k = input.Length / Size;
        ThrowHelper.CheckLength(result.Length, k, nameof(result), Rank, $"ReduceScatter of {input.Length} elements over {Size} ranks");
        // The ring reduces in place, so it works on a copy; the copy lives in scratch after the ring's receive slots.
        long slotBytes = RingPipeline.SlotBytes<T>(new ChunkLayout(input.Length, Size), options?.SegmentBytes ?? SegmentBytes);
        long bytes = (long)input.Length * sizeof(T);
        byte* scratch = Scratch(slotBytes + bytes + 64);
        T* work = (T*)(scratch + ((slotBytes + 63) & ~63L));
        fixed (T* s = input) Buffer.MemoryCopy(s, work, bytes, bytes);
        ReduceScatterCore(work, k, op, options ?? CollectiveOptions.Default);
        new ReadOnlySpan<T>(work + (long)k * Rank, k).CopyTo(result);
    }

    /// <summary>
    /// ReduceScatter in place: <paramref name="buffer"/> holds N blocks of k elements; afterwards this rank's block
    /// (at offset rank x k) holds the reduction of that block over all ranks. The other blocks are left with partial
    /// results.
    /// </summary>
    /// <exception cref="ArgumentException">The buffer's length is not a multiple of the rank count.</exception>
    /// <exception cref="CollectiveMismatchException">Ranks passed different counts, types or operators.</exception>
    public void ReduceScatter<T>(Span<T> buffer, ReduceOp op, CollectiveOptions? options = null) where T : unmanaged, INumber<T>
    {
        ThrowIfDisposed();
        if (buffer.Length % Size != 0)
            ThrowHelper.Argument(nameof(buffer), $"rank {Rank}: ReduceScatter needs N x k elements; {buffer.Length} is not a multiple of {Size} ranks.");
        fixed (T* p = buffer) ReduceScatterCore(p, buffer.Length / Size, op, options ?? CollectiveOptions.Default);
    }

    private void ReduceScatterCore<T>(T* data, long blockLength, ReduceOp op, CollectiveOptions options) where T : unmanaged, INumber<T>
    {
        var call = new CollectiveCall(this, CollectiveKind.ReduceScatter, ElementTypes.Of<T>(), op, blockLength, options.Timeout);
        if (options.Validate || EnvironmentSettings.Validate) ArgumentCheck.Run(call, op, -1);
        var layout = new ChunkLayout(blockLength * Size, Size);
        int segmentBytes = options.SegmentBytes ?? SegmentBytes;
        switch (op)
        {
            case ReduceOp.Sum or ReduceOp.Average: RingPipeline.Run<T, SumOperator<T>>(call, data, layout, true, false, segmentBytes); break;
            case ReduceOp.Prod: RingPipeline.Run<T, ProdOperator<T>>(call, data, layout, true, false, segmentBytes); break;
            case ReduceOp.Min: RingPipeline.Run<T, MinOperator<T>>(call, data, layout, true, false, segmentBytes); break;
            case ReduceOp.Max: RingPipeline.Run<T, MaxOperator<T>>(call, data, layout, true, false, segmentBytes); break;
            default: ThrowHelper.ArgumentOutOfRange(nameof(op), op, $"rank {Rank}: unknown reduction operator {op}."); break;
        }
        if (op == ReduceOp.Average) DivideBySize(data + blockLength * Rank, blockLength);
    }
}
