using System.Runtime.InteropServices;
using System.Security.Cryptography;
using AllReduceNet.Privacy;
using AllReduceNet.Privacy.Accounting;
using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Cli;
using AllReduceNet.Training.Data;

namespace AllReduceNet.Training.Privacy;

/// <summary>
/// Turns the validated --dp options into a <see cref="DpSgdPlan"/> before any rank starts: σ for the planned steps,
/// the data set's ledger key, the run id (new, or the checkpoint's on --resume), and the ledger's budget check.
/// Every problem is a <see cref="TrainingException"/> naming the option or file, so nothing trains.
/// </summary>
internal static class DpSgdPlanner
{
    /// <param name="settings">Validated settings with <see cref="TrainSettings.Dp"/> set.</param>
    /// <param name="data">The loaded data.</param>
    /// <param name="trainFiles">The training data's files (their hash names the data set), or null for synthetic data.</param>
    /// <param name="initial">The resumed checkpoint, or null.</param>
    /// <param name="checkpointOption">The --checkpoint path as given (also with --no-checkpoint): the ledger lives in its directory.</param>
    public static DpSgdPlan Plan(TrainSettings settings, TrainTestData data, IReadOnlyList<string>? trainFiles, Checkpoint? initial, string checkpointOption)
    {
        var options = settings.Dp ?? throw new ArgumentException("DP-SGD is not enabled", nameof(settings));
        int n = data.Train.Count, batch = settings.BatchSize;
        double q = (double)batch / n;
        int stepsPerEpoch = n / batch;
        long plannedSteps = (long)stepsPerEpoch * settings.Epochs;
        string ledgerPath = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(settings.CheckpointPath ?? checkpointOption)) ?? ".", DpSgdPlan.LedgerFileName);
        try
        {
            double sigma = options.Settings.ResolveNoiseMultiplier(q, plannedSteps);
            string dataset = trainFiles is null ? SyntheticIdentity(data.Train) : DatasetIdentity.Compute("fashion-mnist", trainFiles);
            string runId;
            AccountantState? resumed = null;
            if (initial is not null)
            {
                string path = settings.CheckpointPath!;
                if (initial.Privacy is null)
                    throw new TrainingException($"--resume with --dp: checkpoint {path} was trained without --dp, so its privacy loss is unbounded; start a new run (another --checkpoint).");
                var state = PrivacyCheckpointState.FromJson(initial.Privacy, path);
                if (state.DatasetId != dataset)
                    throw new TrainingException($"--resume: checkpoint {path} was trained on data set {state.DatasetId}, but the data is {dataset}.");
                runId = state.RunId;
                resumed = state.Accountant;
            }
            else runId = NewRunId();
            var plan = new DpSgdPlan(options.Settings.ClipNorm, sigma, options.Settings.Delta, options.Settings.BudgetEpsilon, options.SecureRandom,
                batch, q, stepsPerEpoch, dataset, runId, ledgerPath, resumed);
            if (plan.BudgetEpsilon is double budget)
            {
                long first = (long)(initial?.CompletedEpochs ?? 0) * stepsPerEpoch;
                var planned = plannedSteps > first
                    ? new[] { new ReleaseRange(runId, ReleaseSource.DpSgdStep, first, plannedSteps - first, plan.Release) }
                    : [];
                PrivacyLedger.Load(ledgerPath).EnsureWithinBudget(dataset, planned, budget, plan.Delta);
            }
            return plan;
        }
        catch (PrivacyException problem)
        {
            throw new TrainingException(problem.Message, problem);
        }
    }

    /// <summary>"r-YYYYMMDD-HHMMSS-XXXXXXXX": sortable by start time, unique by 32 random bits.</summary>
    private static string NewRunId() =>
        $"r-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";

    /// <summary>Synthetic data has no files: the data set is named by the SHA-256 of its samples and labels.</summary>
    private static string SyntheticIdentity(Dataset train)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(MemoryMarshal.AsBytes(train.Inputs.AsSpan()));
        hash.AppendData(MemoryMarshal.AsBytes(train.Labels.AsSpan()));
        return $"synthetic:sha256:{Convert.ToHexStringLower(hash.GetHashAndReset())}";
    }
}
