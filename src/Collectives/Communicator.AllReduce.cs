using System.Numerics;
using System.Numerics.Tensors;
using AllReduceNet.Collectives.Algorithms;
using AllReduceNet.Collectives.Operators;

namespace AllReduceNet.Collectives;

public sealed unsafe partial class Communicator
{
    /// <summary>
    /// AllReduce in place: every rank ends with the element-wise reduction of all ranks' <paramref name="data"/>,
    /// bitwise identical on every rank. Collective: every rank calls it with the same count, type and operator.
    /// </summary>
    /// <exception cref="CollectiveMismatchException">Ranks passed different counts, types, operators or algorithms.</exception>
    /// <exception cref="CommunicationTimeoutException">A peer did not arrive in time; names the call and the ranks missing.</exception>
    /// <exception cref="CommunicatorAbortedException">Another rank failed.</exception>
    /// <exception cref="NotSupportedException">The algorithm asked for is not available on this transport (Direct across processes, Native in-process) or for this type.</exception>
    public void AllReduce<T>(Span<T> data, ReduceOp op, CollectiveOptions? options = null) where T : unmanaged, INumber<T>
    {
        fixed (T* p = data) AllReduceCore(p, p, data.Length, op, options ?? CollectiveOptions.Default);
    }

    /// <summary>
    /// AllReduce out of place: <paramref name="result"/> receives the reduction of all ranks' <paramref name="input"/>;
    /// the input is not changed. <paramref name="result"/> must hold at least as many elements as the input.
    /// </summary>
    /// <exception cref="ArgumentException">The result buffer is too small.</exception>
    /// <exception cref="CollectiveMismatchException">Ranks passed different counts, types, operators or algorithms.</exception>
    /// <exception cref="CommunicationTimeoutException">A peer did not arrive in time.</exception>
    public void AllReduce<T>(ReadOnlySpan<T> input, Span<T> result, ReduceOp op, CollectiveOptions? options = null) where T : unmanaged, INumber<T>
    {
        ThrowHelper.CheckLength(result.Length, input.Length, nameof(result), Rank, $"AllReduce of {input.Length} elements");
        fixed (T* s = input)
        fixed (T* r = result)
            AllReduceCore(s, r, input.Length, op, options ?? CollectiveOptions.Default);
    }

    internal void AllReduceCore<T>(T* input, T* result, long count, ReduceOp op, CollectiveOptions options) where T : unmanaged, INumber<T>
    {
        ThrowIfDisposed();
        if (ReproducibleSumApplies<T>(op, options))
        {
            ReproducibleSumCore(input, result, count, options);
            if (op == ReduceOp.Average) DivideBySize(result, count);
            return;
        }
        var algorithm = AllReduceAlgorithms.Resolve<T>(options.Algorithm, this, count, op);
        var call = new CollectiveCall(this, AllReduceAlgorithms.KindOf(algorithm), ElementTypes.Of<T>(), op, count, options);
        using var timelineSpan = BeginTimeline(call);
        try
        {
            if (options.Validate || EnvironmentSettings.Current.Validate) ArgumentCheck.Run(this, call, op, root: -1);
            var run = new AllReduceRun<T>(this, call, input, result, count, op, options);
            OperatorDispatch.Run<T, AllReduceRun<T>>(op, ref run, Rank);
        }
        catch (Exception error)
        {
            call.NotifyPeersOfFailure(error);
            throw;
        }
        if (op == ReduceOp.Average) DivideBySize(result, count);
    }

    /// <summary>The AllReduce of one call, once its operator type is known: the one switch over the algorithms.</summary>
    private readonly struct AllReduceRun<T>(Communicator comm, CollectiveCall call, T* input, T* result, long count, ReduceOp op, CollectiveOptions options) : IReduction<T>
        where T : unmanaged, INumber<T>
    {
        public void Run<TOp>() where TOp : struct, IReduceOperator<T>
        {
            long bytes = count * sizeof(T);
            if (call.Kind == CollectiveKind.AllReduceNative)
            {
                NativeAllReduce.Run(call, input, result, count, op == ReduceOp.Average ? ReduceOp.Sum : op);
                return;
            }
            if (input != result) Buffer.MemoryCopy(input, result, bytes, bytes);
            switch (call.Kind)
            {
                case CollectiveKind.AllReduceTree:
                    TreePipeline.Reduce<T, TOp>(call, result, count, root: 0);
                    TreePipeline.Broadcast(call, result, count, root: 0);
                    break;
                case CollectiveKind.AllReduceDirect: DirectAllReduce.Run<T, TOp>(call, result, count); break;
                case CollectiveKind.AllReduceHierarchical: HierarchicalAllReduce.Run<T, TOp>(comm, call, result, count, op, options); break;
                case CollectiveKind.AllReduceRecursiveDoubling: RecursiveDoubling.Run<T, TOp>(call, result, count); break;
                case CollectiveKind.AllReduceRecursiveHalving: RecursiveHalving.Run<T, TOp>(call, result, count); break;
                default: RingPipeline.Run<T, TOp>(call, result, new ChunkLayout(count, call.Size), reduceScatter: true, allGather: true); break;
            }
        }
    }

    /// <summary>Average = sum, then one division per element; the same on every rank, so still bitwise identical.</summary>
    private void DivideBySize<T>(T* data, long count) where T : unmanaged, INumber<T>
    {
        var span = new Span<T>(data, checked((int)count)); // collectives take spans: count fits an int
        TensorPrimitives.Divide(span, T.CreateTruncating(Size), span);
    }
}
