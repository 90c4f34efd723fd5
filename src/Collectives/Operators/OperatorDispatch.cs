using System.Numerics;

namespace AllReduceNet.Collectives.Operators;

/// <summary>
/// A piece of work generic over the reduction operator: the one place that turns a <see cref="ReduceOp"/> value
/// into an operator type calls <see cref="Run{TOp}"/> with it, so the JIT specializes the work for each operator.
/// </summary>
internal interface IReduction<T> where T : unmanaged
{
    void Run<TOp>() where TOp : struct, IReduceOperator<T>;
}

/// <summary>The one switch from <see cref="ReduceOp"/> to an operator type (Average reduces as Sum; the caller divides).</summary>
internal static class OperatorDispatch
{
    public static void Run<T, TReduction>(ReduceOp op, ref TReduction reduction, int rank)
        where T : unmanaged, INumber<T> where TReduction : struct, IReduction<T>
    {
        switch (op)
        {
            case ReduceOp.Sum or ReduceOp.Average: reduction.Run<SumOperator<T>>(); break;
            case ReduceOp.Prod: reduction.Run<ProdOperator<T>>(); break;
            case ReduceOp.Min: reduction.Run<MinOperator<T>>(); break;
            case ReduceOp.Max: reduction.Run<MaxOperator<T>>(); break;
            default: ThrowHelper.ArgumentOutOfRange(nameof(op), op, $"rank {rank}: unknown reduction operator {op}."); break;
        }
    }
}
