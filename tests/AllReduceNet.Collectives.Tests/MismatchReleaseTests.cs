using System.Diagnostics;
using AllReduceNet.Collectives.Transports.InProcess;

namespace AllReduceNet.Collectives.Tests;

/// <summary>
/// <see cref="MismatchScenario"/> bound to the in-process transport: for each algorithm x mismatch kind x world size,
/// every rank must end with an exception (a mismatch, or the abort that the first failure caused) within a second of
/// the first rank's failure, while the world's timeout is 30 s; and the failure must say what differed.
/// </summary>
/// <remarks>Alone (not beside the heavy suite on two cores), so a rank's start is not delayed by seconds.</remarks>
[Collection(nameof(MismatchReleaseTests))]
[CollectionDefinition(nameof(MismatchReleaseTests), DisableParallelization = true)]
public class MismatchReleaseTests
{
    /// <summary>The goal is a second; twice that leaves room for a noisy machine and is still far from the timeout.</summary>
    private static readonly TimeSpan Release = TimeSpan.FromSeconds(2);

    private static readonly InProcessWorldOptions LongTimeout = new() { Timeout = TimeSpan.FromSeconds(30) };

    private static readonly AllReduceAlgorithm[] Algorithms =
        [AllReduceAlgorithm.Ring, AllReduceAlgorithm.Tree, AllReduceAlgorithm.RecursiveDoubling, AllReduceAlgorithm.Direct, AllReduceAlgorithm.Auto];

    /// <summary>1000 floats go eagerly (and by recursive doubling under Auto); 300,000 through shared transfers (direct under Auto from 3 ranks).</summary>
    public static IEnumerable<object[]> Rows() =>
        from kind in Enum.GetValues<MismatchKind>()
        from algorithm in Algorithms
        from ranks in new[] { 2, 3, 5 }
        from count in new[] { 1000, 300_000 }
        where kind != MismatchKind.Leaves || (ranks == 3 && count == 1000)   // whether leaving is a failure to release on: one size says it
        select new object[] { kind, algorithm, ranks, count };

    [Theory]
    [MemberData(nameof(Rows))]
    public void EveryRankIsReleasedWithinASecondOfTheFirstFailure(MismatchKind kind, AllReduceAlgorithm algorithm, int ranks, int count) =>
        AssertReleased(kind, algorithm, ranks, count);

    private static void AssertReleased(MismatchKind kind, AllReduceAlgorithm algorithm, int ranks, int count)
    {
        var scenario = new MismatchScenario(kind, algorithm, count, OddRank: 1);
        string what = $"{scenario} at {ranks} ranks";
        var ends = new End?[ranks];
        var world = Task.Run(() => InProcessWorld.Run(ranks, comm =>
        {
            try { scenario.Run(comm); }
            catch (Exception e) { Volatile.Write(ref ends[comm.Rank], new End(Stopwatch.GetTimestamp(), e)); throw; }
            Volatile.Write(ref ends[comm.Rank], new End(Stopwatch.GetTimestamp(), null));
        }, LongTimeout));

        // Wait for every rank, but never for the timeout: a rank not released soon after the first end is the failure.
        var clock = Stopwatch.StartNew();
        while (!world.IsCompleted && clock.Elapsed < TimeSpan.FromSeconds(6))
        {
            var first = ends.OfType<End>().Select(e => e.At).DefaultIfEmpty(long.MaxValue).Min();
            if (first != long.MaxValue && Stopwatch.GetElapsedTime(first) > Release + TimeSpan.FromSeconds(0.5)) break;
            Thread.Sleep(20);
        }
        var seen = ends.Select(e => Volatile.Read(ref e)).ToArray();
        var waiting = Enumerable.Range(0, ranks).Where(r => seen[r] is null).ToList();
        Assert.True(waiting.Count == 0, $"{what}: rank(s) {string.Join(", ", waiting)} still waiting {clock.Elapsed.TotalSeconds:F1} s after the start " +
                                        $"(ranks that ended: {Describe(seen)})");

        ((IAsyncResult)world).AsyncWaitHandle.WaitOne(TimeSpan.FromSeconds(5)); // every rank ended: the world returns at once
        long start = seen.Min(e => e!.At);
        var spread = Stopwatch.GetElapsedTime(start, seen.Max(e => e!.At));
        Assert.True(spread <= Release, $"{what}: the last rank was released {spread.TotalSeconds:F2} s after the first failure: {Describe(seen)}");
        for (int r = 0; r < ranks; r++)
            Assert.True(scenario.MustFail(r) == seen[r]!.Error is not null, $"{what}: rank {r} {(seen[r]!.Error is null ? "returned" : "failed")}: {Describe(seen)}");

        var failed = Assert.IsType<RankFailedException>(Unwrap(world.Exception));
        var errors = seen.Select(e => e!.Error).OfType<Exception>().ToList();
        if (kind == MismatchKind.Throws)
        {
            Assert.Equal(scenario.OddRank, failed.Rank);
            Assert.Contains($"Rank {scenario.OddRank} of {ranks} failed", failed.Message);
            Assert.Contains(MismatchScenario.ThrownOnPurpose(scenario.OddRank), failed.Message);
            errors.Remove(failed.InnerException!);
            Assert.All(errors, e => Assert.Equal(scenario.OddRank, Assert.IsType<CommunicatorAbortedException>(e).FailedRank));
            return;
        }
        Assert.All(errors, e => Assert.True(e is CollectiveException and not CommunicationTimeoutException, $"{what}: {e}"));
        if (kind == MismatchKind.Leaves) return;
        var mismatches = errors.OfType<CollectiveMismatchException>().Select(e => e.Message).ToList();
        // What each side passed; a Broadcast that completed (its root only sends) meets the AllReduce in the Barrier after it.
        var (one, others) = kind switch
        {
            MismatchKind.Count => ($"passed {count - 1} x float", new[] { $"passed {count} x float" }),
            MismatchKind.Operator => ("with Sum", ["with Max"]),
            MismatchKind.ElementType => ("of int", ["of float"]),
            _ => ("AllReduce", ["Broadcast of float", "Barrier of"]),
        };
        Assert.True(mismatches.Any(m => m.Contains(one) && others.Any(m.Contains)),
            $"{what}: no rank's mismatch names both '{one}' and '{string.Join("' or '", others)}': {Describe(seen)}");
    }

    private sealed record End(long At, Exception? Error);

    private static Exception? Unwrap(AggregateException? e) => e?.InnerExceptions.Single();

    private static string Describe(End?[] ends) => string.Join("; ", ends.Select((e, r) => e is null ? $"rank {r}: still waiting"
        : $"rank {r} at {Stopwatch.GetElapsedTime(ends.OfType<End>().Min(x => x.At), e.At).TotalSeconds:F2} s: {e.Error?.GetType().Name ?? "returned"} {e.Error?.Message}"));
}
