using AllReduceNet.Collectives.Algorithms;
using AllReduceNet.Collectives.Operators;

namespace AllReduceNet.Collectives;

public sealed unsafe partial class Communicator
{
    /// <summary>
    /// Gathers every rank's <paramref name="input"/> (k elements, the same k on every rank) into
    /// <paramref name="result"/> (N x k elements), rank r's block at offset r x k, around a ring.
    /// </summary>
    /// <exception cref="ArgumentException">The result buffer holds fewer than N x k elements.</exception>
    /// <exception cref="CollectiveMismatchException">Ranks passed different counts or types.</exception>
    /// <exception cref="CommunicationTimeoutException">A peer did not arrive in time.</exception>
    public void AllGather<T>(ReadOnlySpan<T> input, Span<T> result, CollectiveOptions? options = null) where T : unmanaged
    {
        ThrowIfDisposed();
        long k = input.Length;
        ThrowHelper.CheckLength(result.Length, k * Size, nameof(result), Rank, $"AllGather of {k} elements from {Size} ranks");
        input.CopyTo(result.Slice((int)(k * Rank)));
        AllGatherInPlace(result.Slice(0, (int)(k * Size)), k, options ?? CollectiveOptions.Default);
    }

    /// <summary>
    /// AllGather in place: <paramref name="buffer"/> holds N blocks of equal size; this rank's block (at offset
    /// rank x length / N) is its contribution, and every block is filled from its rank.
    /// </summary>
    /// <exception cref="ArgumentException">The buffer's length is not a multiple of the rank count.</exception>
    /// <exception cref="CollectiveMismatchException">Ranks passed different counts or types.</exception>
    public void AllGather<T>(Span<T> buffer, CollectiveOptions? options = null) where T : unmanaged
    {
        ThrowIfDisposed();
        if (buffer.Length % Size != 0)
            ThrowHelper.Argument(nameof(buffer), $"rank {Rank}: an in-place AllGather needs a buffer of N x k elements; {buffer.Length} is not a multiple of {Size} ranks.");
        AllGatherInPlace(buffer, buffer.Length / Size, options ?? CollectiveOptions.Default);
    }

    private void AllGatherInPlace<T>(Span<T> buffer, long blockLength, CollectiveOptions options) where T : unmanaged
    {
        var call = new CollectiveCall(this, CollectiveKind.AllGather, ElementTypes.Of<T>(), null, blockLength, options);
        using var timelineSpan = BeginTimeline(call);
        try
        {
            if (options.Validate || EnvironmentSettings.Current.Validate) ArgumentCheck.Run(this, call, null, -1);
            fixed (T* p = buffer)
                RingPipeline.Run<T, NoOperator<T>>(call, p, new ChunkLayout(blockLength * Size, Size), reduceScatter: false, allGather: true);
        }
        catch (Exception error)
        {
            call.NotifyPeersOfFailure(error);
            throw;
        }
    }
}
