using AllReduceNet.Privacy.Accounting;

namespace AllReduceNet.Privacy.Tests.Accounting;

public sealed class PrivacyLedgerTests : IDisposable
{
    private const string Mnist = "mnist:sha256:00ff";
    private static readonly GaussianRelease Step = new(0.01, 1.1);
    private readonly string _directory = Directory.CreateTempSubdirectory("ledger-test-").FullName;

    private string LedgerPath => Path.Combine(_directory, "privacy-ledger.jsonl");

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static double EpsilonOf(long steps, GaussianRelease release)
    {
        var accountant = new RdpAccountant();
        accountant.Compose(release, steps);
        return accountant.GetEpsilon(1e-5).Epsilon;
    }

    [Fact]
    public void RecordsLoadsAndComposesAcrossRuns()
    {
        var ledger = PrivacyLedger.Load(LedgerPath);
        ledger.Record(Mnist, new ReleaseRange("run-a", ReleaseSource.DpSgdStep, 0, 500, Step), 1e-5);
        ledger.Record(Mnist, new ReleaseRange("run-b", ReleaseSource.DpSgdStep, 0, 500, Step), 1e-5);
        ledger.Record("other:sha256:11", new ReleaseRange("run-b", ReleaseSource.DpSgdStep, 0, 9000, Step), 1e-5);

        var reloaded = PrivacyLedger.Load(LedgerPath);
        Assert.Equal(3, reloaded.Entries.Count);
        Assert.Null(reloaded.TornLastLine);
        Assert.Equal(EpsilonOf(1000, Step), reloaded.Spent(Mnist, 1e-5).Epsilon, 1e-12);
        Assert.Equal(reloaded.Spent(Mnist, 1e-5).Epsilon, reloaded.Entries[1].EpsilonAfter, 1e-12);
        string firstLine = File.ReadLines(LedgerPath).First();
        Assert.Contains("\"mechanism\":{\"kind\":\"subsampled-gaussian\",\"q\":0.01,\"sigma\":1.1}", firstLine);
        Assert.Contains("\"source\":\"dp-sgd\"", firstLine);
    }

    [Fact]
    public void AResumedRunDoesNotCountRecordedStepsTwice()
    {
        var ledger = PrivacyLedger.Load(LedgerPath);
        ledger.Record(Mnist, new ReleaseRange("run-a", ReleaseSource.DpSgdStep, 0, 300, Step), 1e-5);
        ledger.Record(Mnist, new ReleaseRange("run-a", ReleaseSource.DpSgdStep, 300, 200, Step), 1e-5);
        // The run crashed after recording step 499 but resumes from its checkpoint at step 400 and records again.
        ledger.Record(Mnist, new ReleaseRange("run-a", ReleaseSource.DpSgdStep, 400, 250, Step), 1e-5);
        ledger.Record(Mnist, new ReleaseRange("run-a", ReleaseSource.DpSgdStep, 0, 300, Step), 1e-5);

        var reloaded = PrivacyLedger.Load(LedgerPath);
        Assert.Equal(650, reloaded.Compose(Mnist).TotalSteps);
        Assert.Equal(EpsilonOf(650, Step), reloaded.Spent(Mnist, 1e-5).Epsilon, 1e-12);
        // The same step numbers from another source or another run are other releases.
        reloaded.Record(Mnist, new ReleaseRange("run-a", ReleaseSource.FederatedRound, 0, 10, new GaussianRelease(1, 8)), 1e-5);
        Assert.Equal(660, reloaded.Compose(Mnist).TotalSteps);
    }

    [Fact]
    public void ComposesTwentyThousandOneStepEntriesQuickly()
    {
        // A parameter server recording each push: the merge is a sweep, not a comparison of every pair.
        // Written in one go: 20,000 appends would be 20,000 fsyncs.
        var push = new GaussianRelease(1, 30);
        File.WriteAllLines(LedgerPath, Enumerable.Range(0, 20_000).Select(i => new LedgerEntry(Mnist,
            new ReleaseRange("run-ps", ReleaseSource.ParameterServerPush, i, 1, push), DateTimeOffset.UnixEpoch, 1e-5, 0).ToJsonLine()));
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        var reloaded = PrivacyLedger.Load(LedgerPath);
        Assert.Equal(20_000, reloaded.Compose(Mnist).TotalSteps);
        // 5 s measured on this shared machine at load average 26; the pairwise merge it replaced was quadratic (2e8 pairs).
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(60), $"load and compose took {stopwatch.Elapsed}");
    }

    [Fact]
    public void RefusesAPlanOverTheBudgetGivingSpentPlannedAndBudget()
    {
        var ledger = PrivacyLedger.Load(LedgerPath);
        ledger.Record(Mnist, new ReleaseRange("run-a", ReleaseSource.DpSgdStep, 0, 2000, Step), 1e-5);
        double spent = ledger.Spent(Mnist, 1e-5).Epsilon;
        var plan = new[] { new ReleaseRange("run-b", ReleaseSource.DpSgdStep, 0, 20000, Step) };

        var error = Assert.Throws<PrivacyException>(() => ledger.EnsureWithinBudget(Mnist, plan, 3.0, 1e-5));
        Assert.Contains("would exceed the privacy budget", error.Message);
        Assert.Contains($"spent epsilon {spent:F3}", error.Message);
        Assert.Contains($"the plan alone epsilon {EpsilonOf(20000, Step):F3}", error.Message);
        Assert.Contains("--dp-budget 3", error.Message);

        var smallPlan = new[] { new ReleaseRange("run-b", ReleaseSource.DpSgdStep, 0, 100, Step) };
        double total = ledger.EnsureWithinBudget(Mnist, smallPlan, 3.0, 1e-5).Epsilon;
        Assert.Equal(EpsilonOf(2100, Step), total, 1e-12);
    }

    [Fact]
    public void ResumingPlansOnlyTheStepsNotYetRecorded()
    {
        var ledger = PrivacyLedger.Load(LedgerPath);
        ledger.Record(Mnist, new ReleaseRange("run-a", ReleaseSource.DpSgdStep, 0, 1000, Step), 1e-5);
        var resumedPlan = new[] { new ReleaseRange("run-a", ReleaseSource.DpSgdStep, 800, 1200, Step) };
        Assert.Equal(EpsilonOf(2000, Step), ledger.EnsureWithinBudget(Mnist, resumedPlan, 50, 1e-5).Epsilon, 1e-12);
    }

    [Fact]
    public void RefusesAnySpendingOnceTheBudgetIsSpent()
    {
        var ledger = PrivacyLedger.Load(LedgerPath);
        ledger.Record(Mnist, new ReleaseRange("run-a", ReleaseSource.DpSgdStep, 0, 60000, Step), 1e-5);
        var plan = new[] { new ReleaseRange("run-b", ReleaseSource.DpSgdStep, 0, 1, Step) };
        var error = Assert.Throws<PrivacyException>(() => ledger.EnsureWithinBudget(Mnist, plan, 1.0, 1e-5));
        Assert.Contains("privacy budget already spent", error.Message);
        Assert.Contains(Mnist, error.Message);
    }

    [Fact]
    public void ToleratesATornLastLineAndCutsItBeforeTheNextAppend()
    {
        var ledger = PrivacyLedger.Load(LedgerPath);
        ledger.Record(Mnist, new ReleaseRange("run-a", ReleaseSource.DpSgdStep, 0, 100, Step), 1e-5);
        File.AppendAllText(LedgerPath, "{\"dataset\":\"mnist:sha256:00ff\",\"run\":\"run-a\",\"ti");

        var torn = PrivacyLedger.Load(LedgerPath);
        Assert.Single(torn.Entries);
        Assert.Contains(":2: ignored an incomplete last line", torn.TornLastLine);
        torn.Record(Mnist, new ReleaseRange("run-a", ReleaseSource.DpSgdStep, 100, 100, Step), 1e-5);

        var repaired = PrivacyLedger.Load(LedgerPath);
        Assert.Null(repaired.TornLastLine);
        Assert.Equal(2, repaired.Entries.Count);
        Assert.Equal(2, File.ReadAllLines(LedgerPath).Length);
    }

    [Fact]
    public void RefusesACorruptMiddleLineNamingIt()
    {
        var ledger = PrivacyLedger.Load(LedgerPath);
        ledger.Record(Mnist, new ReleaseRange("run-a", ReleaseSource.DpSgdStep, 0, 100, Step), 1e-5);
        ledger.Record(Mnist, new ReleaseRange("run-a", ReleaseSource.DpSgdStep, 100, 100, Step), 1e-5);
        var lines = File.ReadAllLines(LedgerPath);
        lines[0] = lines[0].Replace("\"sigma\":1.1", "\"sigma\":-1.1");
        File.WriteAllLines(LedgerPath, lines);

        var error = Assert.Throws<PrivacyException>(() => PrivacyLedger.Load(LedgerPath));
        Assert.Contains($"{LedgerPath}:1:", error.Message);
        Assert.Contains("sigma", error.Message);

        lines[0] = "{not json";
        File.WriteAllLines(LedgerPath, lines);
        error = Assert.Throws<PrivacyException>(() => PrivacyLedger.Load(LedgerPath));
        Assert.Contains($"{LedgerPath}:1:", error.Message);
    }

    [Fact]
    public void RefusesContradictoryRecordsOfTheSameSteps()
    {
        var ledger = PrivacyLedger.Load(LedgerPath);
        ledger.Record(Mnist, new ReleaseRange("run-a", ReleaseSource.DpSgdStep, 0, 100, Step), 1e-5);
        var error = Assert.Throws<PrivacyException>(() =>
            ledger.Record(Mnist, new ReleaseRange("run-a", ReleaseSource.DpSgdStep, 50, 100, new GaussianRelease(0.01, 2)), 1e-5));
        Assert.Contains("contradicts itself", error.Message);
        Assert.Contains(":1", error.Message);
    }

    [Fact]
    public void ANoiselessReleaseSpendsEverything()
    {
        var ledger = PrivacyLedger.Load(LedgerPath);
        ledger.Record(Mnist, new ReleaseRange("run-a", ReleaseSource.ParameterServerPush, 0, 1, new GaussianRelease(1, 0)), 1e-5);
        var reloaded = PrivacyLedger.Load(LedgerPath);
        Assert.Equal(double.PositiveInfinity, reloaded.Entries[0].EpsilonAfter);
        Assert.Contains("\"kind\":\"gaussian\"", File.ReadAllText(LedgerPath));
    }

    [Fact]
    public void DatasetIdentityFollowsContentNotLocation()
    {
        string a = Path.Combine(_directory, "a"), b = Path.Combine(_directory, "b");
        Directory.CreateDirectory(a);
        Directory.CreateDirectory(b);
        File.WriteAllText(Path.Combine(a, "train.csv"), "1,2,3\n");
        File.WriteAllText(Path.Combine(b, "train.csv"), "1,2,3\n");
        string first = DatasetIdentity.Compute("toy", new[] { Path.Combine(a, "train.csv") });
        Assert.Equal(first, DatasetIdentity.Compute("toy", new[] { Path.Combine(b, "train.csv") }));
        Assert.StartsWith("toy:sha256:", first);
        File.WriteAllText(Path.Combine(b, "train.csv"), "1,2,4\n");
        Assert.NotEqual(first, DatasetIdentity.Compute("toy", new[] { Path.Combine(b, "train.csv") }));
        var error = Assert.Throws<PrivacyException>(() => DatasetIdentity.Compute("toy", new[] { Path.Combine(a, "missing.csv") }));
        Assert.Contains("missing.csv", error.Message);
    }
}
