using System.Numerics;
using System.Numerics.Tensors;
using AllReduceNet.Collectives.Algorithms;
using AllReduceNet.Collectives.Operators;

namespace AllReduceNet.Collectives;

public abstract unsafe partial class Communicator
{
    /// <summary>
    /// AllReduce in place: every rank ends with the element-wise reduction of all ranks' <paramref name="data"/>,
    /// bitwise identical on every rank. Collective: every rank calls it with the same count, type and operator.
    /// </summary>
    /// <exception cref="CollectiveMismatchException">Ranks passed different counts, types, operators or algorithms.</exception>
    /// <exception cref="CommunicationTimeoutException">A peer did not arrive in time; names the call and the ranks missing.</exception>
    /// <exception cref="CommunicatorAbortedException">Another rank failed.</exception>
    /// <exception cref="NotSupportedException">The native algorithm was asked for a type or operator the MPI library lacks.</exception>
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

    private void AllReduceCore<T>(T* input, T* result, long count, ReduceOp op, CollectiveOptions options) where T : unmanaged, INumber<T>
    {
        ThrowIfDisposed();
        var type = ElementTypes.Of<T>();
        long bytes = count * sizeof(T);
        var algorithm = options.Algorithm;
        if (EnvironmentSettings.Debug)
        {
            string reason = "forced by the options";
            if (algorithm == AllReduceAlgorithm.Auto) algorithm = AlgorithmSelector.Choose(bytes, Size, out reason, PeerBuffers is not null);
            Console.Error.WriteLine($"[allreducenet] rank {Rank}/{Size} AllReduce call #{_collectiveCalls + 1}: {count} x {ElementTypes.NameOf<T>()} ({bytes} B) {op}: {algorithm} ({reason})");
        }
        else if (algorithm == AllReduceAlgorithm.Auto) algorithm = AlgorithmSelector.Choose(bytes, Size, PeerBuffers is not null);

        if (algorithm == AllReduceAlgorithm.Native)
        {
            NativeAllReduce(input, result, count, type, op);
            return;
        }
        var kind = algorithm switch
        {
            AllReduceAlgorithm.Tree => CollectiveKind.AllReduceTree,
            AllReduceAlgorithm.RecursiveDoubling => CollectiveKind.AllReduceRecursiveDoubling,
            AllReduceAlgorithm.Direct => CollectiveKind.AllReduceDirect,
            _ => CollectiveKind.AllReduceRing,
        };
        if (algorithm == AllReduceAlgorithm.Direct && PeerBuffers is null)
            throw new NotSupportedException(
                $"rank {Rank}: the direct AllReduce reads the other ranks' buffers, which only ranks in one address space (the in-process transport) can; the {TransportName} transport cannot. Use Ring, Tree, RecursiveDoubling or Auto.");
        var call = new CollectiveCall(this, kind, type, op, count, options.Timeout);
        if (options.Validate || EnvironmentSettings.Validate) ArgumentCheck.Run(call, op, root: -1);
        if (input != result) Buffer.MemoryCopy(input, result, bytes, bytes);
        int segmentBytes = options.SegmentBytes ?? SegmentBytes;
        switch (op)
        {
            case ReduceOp.Sum or ReduceOp.Average: AllReduceWith<T, SumOperator<T>>(call, result, count, algorithm, segmentBytes); break;
            case ReduceOp.Prod: AllReduceWith<T, ProdOperator<T>>(call, result, count, algorithm, segmentBytes); break;
            case ReduceOp.Min: AllReduceWith<T, MinOperator<T>>(call, result, count, algorithm, segmentBytes); break;
            case ReduceOp.Max: AllReduceWith<T, MaxOperator<T>>(call, result, count, algorithm, segmentBytes); break;
            default: ThrowHelper.ArgumentOutOfRange(nameof(op), op, $"rank {Rank}: unknown reduction operator {op}."); break;
        }
        if (op == ReduceOp.Average) DivideBySize(result, count);
    }

    private void AllReduceWith<T, TOp>(in CollectiveCall call, T* data, long count, AllReduceAlgorithm algorithm, int segmentBytes)
        where T : unmanaged where TOp : struct, IReduceOperator<T>
    {
        if (algorithm == AllReduceAlgorithm.Tree)
        {
            T* slots = (T*)Scratch(TreePipeline.ReduceScratchBytes<T>(count, segmentBytes));
            TreePipeline.Reduce<T, TOp>(call, data, count, root: 0, segmentBytes, slots);
            TreePipeline.Broadcast(call, data, count, root: 0, segmentBytes);
        }
        else if (algorithm == AllReduceAlgorithm.Direct)
        {
            DirectAllReduce.Run<T, TOp>(call, data, count, PeerBuffers!);
        }
        else if (algorithm == AllReduceAlgorithm.RecursiveDoubling)
        {
            T* scratch = (T*)Scratch(RecursiveDoubling.ScratchBytes<T>(count, segmentBytes));
            RecursiveDoubling.Run<T, TOp>(call, data, count, segmentBytes, scratch);
        }
        else
        {
            RingPipeline.Run<T, TOp>(call, data, new ChunkLayout(count, Size), reduceScatter: true, allGather: true, segmentBytes);
        }
    }

    private void NativeAllReduce<T>(T* input, T* result, long count, ElementType type, ReduceOp op) where T : unmanaged, INumber<T>
    {
        var native = Native ?? throw new NotSupportedException(
            $"rank {Rank}: the {TransportName} transport has no native AllReduce; use Ring, Tree or Auto (ALLREDUCENET_ALGO=native asks for it).");
        var nativeOp = op == ReduceOp.Average ? ReduceOp.Sum : op;
        if (!native.SupportsAllReduce(type, nativeOp))
            throw new NotSupportedException($"rank {Rank}: the {TransportName} library cannot reduce {ElementTypes.NameOf<T>()} with {op}; use Ring, Tree or Auto.");
        var timeout = DefaultTimeout;
        WaitForStartedCollectives(Deadline.After(timeout), timeout);
        NextCollectiveCall();
        native.AllReduce(input, result, count, type, nativeOp);
        if (op == ReduceOp.Average) DivideBySize(result, count);
    }

    /// <summary>Average = sum, then one division per element; the same on every rank, so still bitwise identical.</summary>
    private void DivideBySize<T>(T* data, long count) where T : unmanaged, INumber<T>
    {
        var span = new Span<T>(data, checked((int)count)); // collectives take spans: count fits an int
        TensorPrimitives.Divide(span, T.CreateTruncating(Size), span);
    }
}
