namespace AllReduceNet.Privacy.Accounting;

/// <summary>What released information about a data set.</summary>
public enum ReleaseSource
{
    /// <summary>DP-SGD optimizer steps; the step range counts optimizer steps of the run.</summary>
    DpSgdStep,
    /// <summary>Federated rounds with noised aggregates; the range counts rounds.</summary>
    FederatedRound,
    /// <summary>Noised pushes to a parameter server; the range counts pushes.</summary>
    ParameterServerPush,
}

/// <summary>
/// Steps [<paramref name="FirstStep"/>, <paramref name="FirstStep"/> + <paramref name="Steps"/>) of one run's releases
/// of one source, each with the same mechanism. Ranges are the unit of the ledger's idempotent merge: a step recorded
/// twice by the same run and source counts once.
/// </summary>
/// <param name="RunId">The run, kept across --resume (saved in the checkpoint).</param>
/// <param name="Source">What released the information.</param>
/// <param name="FirstStep">Index of the first step, ≥ 0, counted from the start of the run.</param>
/// <param name="Steps">Number of steps, ≥ 1.</param>
/// <param name="Release">The mechanism of every step in the range.</param>
public sealed record ReleaseRange(string RunId, ReleaseSource Source, long FirstStep, long Steps, GaussianRelease Release)
{
    /// <summary>One past the last step.</summary>
    public long EndStep => FirstStep + Steps;

    /// <summary>Refuses an empty run id, a negative start, an empty range or a bad mechanism, naming the field.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(RunId)) throw new PrivacyException("release range has an empty run id");
        if (FirstStep < 0) throw new PrivacyException($"run {RunId}: first step must be >= 0; got {FirstStep}");
        if (Steps < 1) throw new PrivacyException($"run {RunId}: a release range needs at least 1 step; got {Steps}");
        if (FirstStep > long.MaxValue - Steps) throw new PrivacyException($"run {RunId}: step range {FirstStep}+{Steps} overflows");
        Release.Validate();
    }

    /// <summary>A one-line description for messages: "run R dp-sgd steps 0..99 (q=0.01, sigma=1.1)".</summary>
    public override string ToString() =>
        $"run {RunId} {LedgerEntry.SourceName(Source)} steps {FirstStep}..{EndStep - 1} " +
        $"(q={PrivacyArguments.Format(Release.SamplingRate)}, sigma={PrivacyArguments.Format(Release.NoiseMultiplier)})";
}
