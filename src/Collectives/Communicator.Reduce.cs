using System.Numerics;
using AllReduceNet.Collectives.Algorithms;
using AllReduceNet.Collectives.Operators;

namespace AllReduceNet.Collectives;

public abstract unsafe partial class Communicator
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
        var call = new CollectiveCall(this, CollectiveKind.Reduce, ElementTypes.Of<T>(), op, count, options.Timeout);
        if (options.Validate || EnvironmentSettings.Validate) ArgumentCheck.Run(call, op, root);
        if (Size == 1 || count == 0)
        {
            if (rootResult != null && rootResult != input) Buffer.MemoryCopy(input, rootResult, count * sizeof(T), count * sizeof(T));
            if (op == ReduceOp.Average && rootResult != null) DivideBySize(rootResult, count);
            return;
        }
        int segmentBytes = options.SegmentBytes ?? SegmentBytes;
        long slotBytes = TreePipeline.ReduceScratchBytes<T>(count, segmentBytes);
        var tree = new BinaryTree(Rank, Size, root);
        // Where this rank accumulates: the root's result; a copy in scratch for an inner rank (its input must not
        // change); a leaf sends its input as it is.
        byte* scratch = Scratch(slotBytes + (rootResult == null && tree.ChildCount > 0 ? count * sizeof(T) : 0));
        T* values = input;
        if (rootResult != null) values = rootResult;
        else if (tree.ChildCount > 0) values = (T*)(scratch + slotBytes);
        if (values != input) Buffer.MemoryCopy(input, values, count * sizeof(T), count * sizeof(T));
        T* slots = (T*)scratch;
        switch (op)
        {
            case ReduceOp.Sum or ReduceOp.Average: TreePipeline.Reduce<T, SumOperator<T>>(call, values, count, root, segmentBytes, slots); break;
            case ReduceOp.Prod: TreePipeline.Reduce<T, ProdOperator<T>>(call, values, count, root, segmentBytes, slots); break;
            case ReduceOp.Min: TreePipeline.Reduce<T, MinOperator<T>>(call, values, count, root, segmentBytes, slots); break;
            case ReduceOp.Max: TreePipeline.Reduce<T, MaxOperator<T>>(call, values, count, root, segmentBytes, slots); break;
            default: ThrowHelper.ArgumentOutOfRange(nameof(op), op, $"rank {Rank}: unknown reduction operator {op}."); break;
        }
        if (op == ReduceOp.Average && rootResult != null) DivideBySize(rootResult, count);
    }
}
