using System.Numerics;
using AllReduceNet.Collectives.Algorithms;
using AllReduceNet.Collectives.Operators;

namespace AllReduceNet.Collectives;

public sealed unsafe partial class Communicator
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
        fixed (T* s = input)
        fixed (T* r = result)
            ReduceScatterCore(s, r, k, op, options ?? CollectiveOptions.Default);
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
        fixed (T* p = buffer) ReduceScatterCore(p, null, buffer.Length / Size, op, options ?? CollectiveOptions.Default);
    }

    /// <summary>In place on <paramref name="data"/> when <paramref name="result"/> is null; else on a copy in the work area, this rank's block then copied out.</summary>
    private void ReduceScatterCore<T>(T* data, T* result, long blockLength, ReduceOp op, CollectiveOptions options) where T : unmanaged, INumber<T>
    {
        var call = new CollectiveCall(this, CollectiveKind.ReduceScatter, ElementTypes.Of<T>(), op, blockLength, options);
        using var timelineSpan = BeginTimeline(call);
        T* work = data;
        try
        {
            if (options.Validate || EnvironmentSettings.Current.Validate) ArgumentCheck.Run(this, call, op, -1);
            if (result != null)
            {
                // The ring reduces in place, so it works on a copy.
                long bytes = blockLength * Size * sizeof(T);
                work = (T*)call.WorkArea(bytes);
                Buffer.MemoryCopy(data, work, bytes, bytes);
            }
            var run = new ReduceScatterRun<T>(call, work, blockLength);
            OperatorDispatch.Run<T, ReduceScatterRun<T>>(op, ref run, Rank);
        }
        catch (Exception error)
        {
            call.NotifyPeersOfFailure(error);
            throw;
        }
        T* mine = work + blockLength * Rank;
        if (op == ReduceOp.Average) DivideBySize(mine, blockLength);
        if (result != null) Buffer.MemoryCopy(mine, result, blockLength * sizeof(T), blockLength * sizeof(T));
    }

    private readonly struct ReduceScatterRun<T>(CollectiveCall call, T* data, long blockLength) : IReduction<T>
        where T : unmanaged, INumber<T>
    {
        public void Run<TOp>() where TOp : struct, IReduceOperator<T> =>
            RingPipeline.Run<T, TOp>(call, data, new ChunkLayout(blockLength * call.Size, call.Size), reduceScatter: true, allGather: false);
    }
}
