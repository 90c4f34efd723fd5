using System.Numerics;
using AllReduceNet.Collectives.Algorithms;
using AllReduceNet.Collectives.Operators;

namespace AllReduceNet.Collectives;

public sealed unsafe partial class Communicator
{
    /// <summary>
    /// Reduces every rank's <paramref name="input"/> into <paramref name="result"/> on rank <paramref name="root"/>,
    /// up a binary tree pipelined by segment. <paramref name="result"/> is only written (and only checked) on the root.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The root is not a rank of this communicator.</exception>
    /// <exception cref="ArgumentException">The root's result buffer is too small.</exception>
    /// <exception cref="CollectiveMismatchException">Ranks passed different counts, types, operators or roots.</exception>
    /// <exception cref="CommunicationTimeoutException">A peer did not arrive in time.</exception>
    public void Reduce<T>(ReadOnlySpan<T> input, Span<T> result, ReduceOp op, int root, CollectiveOptions? options = null) where T : unmanaged, INumber<T>
    {
        ThrowIfDisposed();
        ThrowHelper.CheckRank(root, Size, nameof(root), Rank);
        if (Rank == root) ThrowHelper.CheckLength(result.Length, input.Length, nameof(result), Rank, $"Reduce of {input.Length} elements at the root");
        fixed (T* s = input)
        fixed (T* r = result)
            ReduceCore(s, Rank == root ? r : null, input.Length, op, root, options ?? CollectiveOptions.Default);
    }

    /// <summary>
    /// Reduce in place: on rank <paramref name="root"/>, <paramref name="data"/> is replaced by the reduction of all
    /// ranks' data; on the other ranks it is left unchanged.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The root is not a rank of this communicator.</exception>
    /// <exception cref="CollectiveMismatchException">Ranks passed different counts, types, operators or roots.</exception>
    public void Reduce<T>(Span<T> data, ReduceOp op, int root, CollectiveOptions? options = null) where T : unmanaged, INumber<T>
    {
        ThrowIfDisposed();
        ThrowHelper.CheckRank(root, Size, nameof(root), Rank);
        fixed (T* p = data)
            ReduceCore(p, Rank == root ? p : null, data.Length, op, root, options ?? CollectiveOptions.Default);
    }

    private void ReduceCore<T>(T* input, T* rootResult, long count, ReduceOp op, int root, CollectiveOptions options) where T : unmanaged, INumber<T>
    {
        var call = new CollectiveCall(this, CollectiveKind.Reduce, ElementTypes.Of<T>(), op, count, options);
        using var timelineSpan = BeginTimeline(call);
        try
        {
            if (options.Validate || EnvironmentSettings.Current.Validate) ArgumentCheck.Run(this, call, op, root);
            var run = new ReduceRun<T>(call, input, rootResult, count, root);
            OperatorDispatch.Run<T, ReduceRun<T>>(op, ref run, Rank);
        }
        catch (Exception error)
        {
            call.NotifyPeersOfFailure(error);
            throw;
        }
        if (op == ReduceOp.Average && rootResult != null) DivideBySize(rootResult, count);
    }

    private readonly struct ReduceRun<T>(CollectiveCall call, T* input, T* rootResult, long count, int root) : IReduction<T>
        where T : unmanaged, INumber<T>
    {
        public void Run<TOp>() where TOp : struct, IReduceOperator<T>
        {
            long bytes = count * sizeof(T);
            var tree = new BinaryTree(call.Rank, call.Size, root);
            // Where this rank accumulates: the root's result; a copy in the work area for an inner rank (its input
            // must not change); a leaf sends its input as it is.
            T* values = input;
            if (rootResult != null) values = rootResult;
            else if (tree.ChildCount > 0 && call.Size > 1) values = (T*)call.WorkArea(bytes);
            if (values != input) Buffer.MemoryCopy(input, values, bytes, bytes);
            TreePipeline.Reduce<T, TOp>(call, values, count, root);
        }
    }
}
