using System.Globalization;
using System.Security.Cryptography;
using AllReduceNet.Privacy;
using AllReduceNet.Privacy.Accounting;

namespace AllReduceNet.Training.Federated.ClientDp;

/// <summary>
/// The privacy bookkeeping of one federated run with client-level DP: the RDP accountant (one subsampled Gaussian
/// release per round, q = clients per round / clients, multiplier z), the state file beside the checkpoint
/// (<see cref="ClientDpState"/>), and the data set's privacy ledger (privacy-ledger.jsonl in the checkpoint's
/// directory, <see cref="ReleaseSource.FederatedRound"/>). Every round is composed, aborted ones too: the accountant
/// does not look at what happened to the noised sum, so it can only over-count. Rounds are recorded in the ledger
/// once their checkpoint is on disk. The ledger is written by the lead rank only.
/// </summary>
internal sealed class ClientDpSession
{
    /// <summary>The ledger's file name, in the checkpoint's directory.</summary>
    public const string LedgerFileName = "privacy-ledger.jsonl";

    private readonly ClientDpSettings _dp;
    private readonly string? _checkpointPath;
    private readonly PrivacyLedger? _ledger;
    private readonly List<double> _clipNorms;
    private readonly RdpAccountant _accountant;

    private ClientDpSession(ClientDpSettings dp, string runId, string? checkpointPath, PrivacyLedger? ledger, List<double> clipNorms, RdpAccountant accountant)
    {
        _dp = dp;
        RunId = runId;
        _checkpointPath = checkpointPath;
        _ledger = ledger;
        _clipNorms = clipNorms;
        _accountant = accountant;
    }

    /// <summary>The ledger's id of this run (kept across --resume).</summary>
    public string RunId { get; }

    /// <summary>The clip norm of the next round.</summary>
    public double ClipNorm => _clipNorms[^1];

    /// <summary>ε at δ of the rounds composed so far (+∞ with z = 0).</summary>
    public double Epsilon => _accountant.GetEpsilon(_dp.Delta).Epsilon;

    /// <summary>The release of one round.</summary>
    public GaussianRelease Release => new(_dp.SamplingRate, _dp.NoiseMultiplier);

    /// <summary>The ledger, or null without a checkpoint.</summary>
    public PrivacyLedger? Ledger => _ledger;

    /// <summary>
    /// Before the first round: restores the state of a resumed run (truncated to the checkpoint's rounds), and on the
    /// lead rank loads the ledger, refuses a plan that would exceed --dp-budget, and records the resumed rounds (a
    /// no-op when they are recorded already; it catches a crash between a checkpoint and its ledger entry).
    /// </summary>
    /// <param name="dp">The settings.</param>
    /// <param name="checkpointPath">--checkpoint, or null with --no-checkpoint.</param>
    /// <param name="completedRounds">Rounds the resumed checkpoint completed (0 for a fresh run).</param>
    /// <param name="plannedRounds">Rounds of the whole run (--rounds).</param>
    /// <param name="lead">Whether this rank writes the ledger and checks the budget.</param>
    /// <exception cref="TrainingException">The state file is missing or inconsistent, or the budget would be exceeded.</exception>
    public static ClientDpSession Start(ClientDpSettings dp, string? checkpointPath, int completedRounds, int plannedRounds, bool lead)
    {
        string runId;
        List<double> clipNorms;
        var accountant = new RdpAccountant();
        if (completedRounds > 0)
        {
            string statePath = ClientDpState.PathFor(checkpointPath ?? throw new TrainingException("--resume with --client-dp needs --checkpoint."));
            var state = ClientDpState.Read(statePath);
            if (state.CompletedRounds < completedRounds)
                throw new TrainingException($"{statePath}: it accounts for {state.CompletedRounds} rounds, but the checkpoint completed {completedRounds}: the rounds after it were released without being accounted.");
            runId = state.RunId;
            clipNorms = state.ClipNorms.Take(completedRounds + 1).ToList();
            long left = completedRounds;
            foreach (var steps in state.Accountant.History)
            {
                long take = Math.Min(left, steps.Steps);
                if (take > 0) accountant.Compose(steps.Release, take);
                left -= take;
            }
            // A fixed clip norm follows the command line; an adaptive one continues where it was.
            if (dp.Adaptive is null) clipNorms[^1] = dp.ClipNorm;
        }
        else
        {
            runId = "fed-" + DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture) + "-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
            clipNorms = [dp.ClipNorm];
        }

        PrivacyLedger? ledger = null;
        if (lead && checkpointPath is not null)
        {
            try
            {
                ledger = PrivacyLedger.Load(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(checkpointPath))!, LedgerFileName));
                var done = Ranges(runId, accountant.History, 0);
                if (dp.BudgetEpsilon is double budget && plannedRounds > completedRounds)
                    ledger.EnsureWithinBudget(dp.DatasetId, [.. done, new ReleaseRange(runId, ReleaseSource.FederatedRound, completedRounds, plannedRounds - completedRounds,
                        new GaussianRelease(dp.SamplingRate, dp.NoiseMultiplier))], budget, dp.Delta);
                foreach (var range in done) ledger.Record(dp.DatasetId, range, dp.Delta);
            }
            catch (PrivacyException e)
            {
                throw new TrainingException(e.Message);
            }
        }
        return new ClientDpSession(dp, runId, checkpointPath, ledger, clipNorms, accountant);
    }

    /// <summary>Composes the round just run and remembers the next round's clip norm.</summary>
    public void CompleteRound(double nextClipNorm)
    {
        _accountant.Compose(Release);
        _clipNorms.Add(nextClipNorm);
    }

    /// <summary>Writes the state file of the checkpoint about to be written (call before the checkpoint).</summary>
    public void WriteState()
    {
        if (_checkpointPath is null) return;
        new ClientDpState(RunId, _clipNorms.Count - 1, [.. _clipNorms], _accountant.SaveState()).Write(ClientDpState.PathFor(_checkpointPath));
    }

    /// <summary>Records round <paramref name="round"/> (0-based) in the ledger (call once its checkpoint is on disk).</summary>
    public void RecordRound(int round)
    {
        if (_ledger is null) return;
        try { _ledger.Record(_dp.DatasetId, new ReleaseRange(RunId, ReleaseSource.FederatedRound, round, 1, Release), _dp.Delta); }
        catch (PrivacyException e) { throw new TrainingException(e.Message); }
    }

    /// <summary>An accountant history as consecutive ledger ranges starting at round <paramref name="first"/>.</summary>
    private static List<ReleaseRange> Ranges(string runId, IEnumerable<AccountedSteps> history, long first)
    {
        var ranges = new List<ReleaseRange>();
        foreach (var steps in history)
        {
            if (steps.Steps == 0) continue;
            ranges.Add(new ReleaseRange(runId, ReleaseSource.FederatedRound, first, steps.Steps, steps.Release));
            first += steps.Steps;
        }
        return ranges;
    }
}
