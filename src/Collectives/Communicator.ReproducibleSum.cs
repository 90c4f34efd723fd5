using System.Numerics;
using AllReduceNet.Collectives.Algorithms;

namespace AllReduceNet.Collectives;

public sealed unsafe partial class Communicator
{
    /// <summary>The most addends per element, over all ranks together, that <see cref="ReproducibleSum{T}"/> sums exactly.</summary>
    public const int MaxReproducibleAddends = Algorithms.ReproducibleSum.MaxAddends;

    /// <summary>
    /// The reproducible sum of many addends: <paramref name="result"/> receives the sum, over all ranks, of this rank's
    /// <paramref name="addendCount"/> vectors, stored one after the other in <paramref name="addends"/>
    /// (addendCount x result.Length values). Its bits depend only on the multiset of all addends, not on how they are
    /// spread over ranks or on the algorithm, transport or segment size: the same vectors split over 1 or 8 ranks give
    /// the same result. NaN and infinities follow IEEE addition; precision and cost: docs/reproducible.md.
    /// Collective: every rank passes the same result length and addend count.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="addends"/> does not hold addendCount x result.Length values.</exception>
    /// <exception cref="NotSupportedException">The element type is not float or double, or more than 4096 addends per element in all.</exception>
    /// <exception cref="CollectiveMismatchException">Ranks passed different addend counts or lengths.</exception>
    /// <exception cref="CommunicationTimeoutException">A peer did not arrive in time.</exception>
    public void ReproducibleSum<T>(ReadOnlySpan<T> addends, int addendCount, Span<T> result, CollectiveOptions? options = null)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ThrowIfDisposed();
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double))
            throw new NotSupportedException($"rank {Rank}: the reproducible sum is for float and double, not {typeof(T).Name}.");
        Algorithms.ReproducibleSum.Run(this, addends, addendCount, result, options ?? CollectiveOptions.Default);
    }

    /// <summary>Whether an AllReduce goes through the reproducible sum: asked for (options or environment), float or double, Sum or Average.</summary>
    private static bool ReproducibleSumApplies<T>(ReduceOp op, CollectiveOptions options) where T : unmanaged =>
        (options.Reproducible || EnvironmentSettings.Current.Reproducible)
        && op is ReduceOp.Sum or ReduceOp.Average
        && (typeof(T) == typeof(float) || typeof(T) == typeof(double));

    /// <summary>The reproducible sum's 64-bit accumulators, kept between calls (a 64 MiB float AllReduce needs 128 MiB of them).</summary>
    internal Span<long> ReproducibleScratch(int count) => new(Scratch.Get(ScratchMemory.Region.ReproducibleSum, (long)count * sizeof(long)), count);

    private void ReproducibleSumCore<T>(T* input, T* result, long count, CollectiveOptions options) where T : unmanaged
    {
        int n = checked((int)count);
        if (typeof(T) == typeof(float))
            Algorithms.ReproducibleSum.Run(this, new ReadOnlySpan<float>(input, n), 1, new Span<float>(result, n), options, fromAllReduce: true);
        else
            Algorithms.ReproducibleSum.Run(this, new ReadOnlySpan<double>(input, n), 1, new Span<double>(result, n), options, fromAllReduce: true);
    }
}
