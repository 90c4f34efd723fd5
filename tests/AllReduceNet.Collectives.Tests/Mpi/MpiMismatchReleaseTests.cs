using AllReduceNet.Collectives.Suite;

namespace AllReduceNet.Collectives.Tests.Mpi;

/// <summary>
/// <see cref="MismatchScenario"/> bound to MPI, for the algorithms MPI has (Native is MPI's own: a mismatch there is
/// undefined behaviour): the first rank that fails ends the job through MPI_Abort, which must come within seconds of
/// the start, while the world's timeout is 30 s. Every combination under MPICH; each kind once under Open MPI.
/// </summary>
[Collection(MpiCollection.Name)]
public class MpiMismatchReleaseTests
{
    private static readonly AllReduceAlgorithm[] Algorithms =
        [AllReduceAlgorithm.Ring, AllReduceAlgorithm.Tree, AllReduceAlgorithm.RecursiveDoubling, AllReduceAlgorithm.Auto];

    private static readonly MismatchKind[] Kinds = Enum.GetValues<MismatchKind>().Where(k => k != MismatchKind.Leaves).ToArray();

    /// <summary>Launching 3 ranks takes a second or two here; a release by timeout would take 30 s.</summary>
    private static readonly TimeSpan Ended = TimeSpan.FromSeconds(10);

    public static IEnumerable<object[]> MpichRows() => from kind in Kinds from algorithm in Algorithms select new object[] { kind, algorithm };

    public static IEnumerable<object[]> OpenMpiRows() => Kinds.Select((kind, i) => new object[] { kind, Algorithms[i % Algorithms.Length] });

    [MpiTheory(MpiJob.Mpich)]
    [MemberData(nameof(MpichRows))]
    public void TheMpichJobEndsWithinSecondsOfTheFirstFailure(MismatchKind kind, AllReduceAlgorithm algorithm) => AssertEnded(MpiJob.Mpich, kind, algorithm);

    [MpiTheory(MpiJob.OpenMpi)]
    [MemberData(nameof(OpenMpiRows))]
    public void TheOpenMpiJobEndsWithinSecondsOfTheFirstFailure(MismatchKind kind, AllReduceAlgorithm algorithm) => AssertEnded(MpiJob.OpenMpi, kind, algorithm);

    private static void AssertEnded(string launcher, MismatchKind kind, AllReduceAlgorithm algorithm)
    {
        var result = MpiJob.Launch(launcher, 3, $"mismatch {kind} {algorithm} 4099 1", TimeSpan.FromSeconds(60),
            new Dictionary<string, string> { ["ALLREDUCENET_TIMEOUT_SECONDS"] = "30" });
        Assert.False(result.TimedOut, result.ToString());
        Assert.True(result.ExitCode != 0, result.ToString());
        Assert.True(result.Elapsed < Ended, $"the job ended only after {result.Elapsed.TotalSeconds:F1} s: {result}");
        Assert.Contains("aborting the MPI job", result.Output);
        Assert.DoesNotContain("which they must not", result.Output);
        Assert.DoesNotContain("CommunicationTimeoutException", result.Output);
        Assert.Contains(kind == MismatchKind.Throws ? MismatchScenario.ThrownOnPurpose(1) : "CollectiveMismatchException", result.Output);
    }
}
