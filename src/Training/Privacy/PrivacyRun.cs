using AllReduceNet.Privacy.Accounting;

namespace AllReduceNet.Training.Privacy;

/// <summary>
/// Rank 0's privacy accounting during a DP-SGD run: the run's RDP accountant (restored from the checkpoint on
/// --resume), composed with each epoch's steps, and the data set's ledger, which gets each epoch's step range once
/// the checkpoint holding those steps is on disk.
/// </summary>
internal sealed class PrivacyRun
{
    private readonly DpSgdPlan _plan;
    private readonly RdpAccountant _accountant;
    private readonly PrivacyLedger _ledger;

    public PrivacyRun(DpSgdPlan plan)
    {
        _plan = plan;
        _accountant = plan.Resumed is { } state ? RdpAccountant.Restore(state) : new RdpAccountant();
        _ledger = PrivacyLedger.Load(plan.LedgerPath);
        if (_ledger.TornLastLine is string torn) Warning = $"privacy ledger {plan.LedgerPath}: ignoring a torn last line ({torn})";
        // A crash between writing the checkpoint and recording its steps would leave steps the accountant counts but
        // the ledger does not: record the restored history again (the ledger counts a step recorded twice once).
        long first = 0;
        foreach (var steps in _accountant.History)
        {
            if (steps.Steps > 0) _ledger.Record(plan.DatasetId, new ReleaseRange(plan.RunId, ReleaseSource.DpSgdStep, first, steps.Steps, steps.Release), plan.Delta);
            first += steps.Steps;
        }
    }

    /// <summary>A problem with the ledger worth a line in the report, or null.</summary>
    public string? Warning { get; }

    /// <summary>Steps composed so far (all runs of this run id, resumes included).</summary>
    public long Steps => _accountant.TotalSteps;

    /// <summary>Composes one epoch's steps; returns the run's ε at δ so far.</summary>
    public PrivacyGuarantee ComposeEpoch()
    {
        _accountant.Compose(_plan.Release, _plan.StepsPerEpoch);
        return _accountant.GetEpsilon(_plan.Delta);
    }

    /// <summary>The checkpoint's privacy section for the steps composed so far.</summary>
    public string CheckpointSection() => new PrivacyCheckpointState(_plan.RunId, _plan.DatasetId, _plan.ClipNorm, _plan.NoiseMultiplier,
        _plan.SamplingRate, _plan.Delta, _accountant.TotalSteps, _accountant.SaveState()).ToJson();

    /// <summary>Records the last epoch's steps in the ledger (call after its checkpoint is written); returns the data
    /// set's ε over all runs.</summary>
    public PrivacyGuarantee RecordEpoch()
    {
        long end = _accountant.TotalSteps;
        return _ledger.Record(_plan.DatasetId, new ReleaseRange(_plan.RunId, ReleaseSource.DpSgdStep, end - _plan.StepsPerEpoch, _plan.StepsPerEpoch, _plan.Release), _plan.Delta);
    }
}
