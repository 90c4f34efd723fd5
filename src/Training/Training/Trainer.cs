using System.Diagnostics;
using System.Security.Cryptography;
using AllReduceNet.Collectives;
using AllReduceNet.Kernels;
using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Cli;
using AllReduceNet.Training.Data;
using AllReduceNet.Training.Model;
using AllReduceNet.Training.Privacy;
using AllReduceNet.Training.Reference;
using AllReduceNet.Training.Strategies;

namespace AllReduceNet.Training.Training;

/// <summary>
/// Runs training on one rank: the epoch loop common to all strategies. After each epoch the full state is gathered,
/// the test set evaluated (sharded over all ranks), rank 0 writes the checkpoint and the report.
/// </summary>
internal static class Trainer
{
    /// <summary>Collective over <paramref name="world"/>; returns the final full state (on every rank).</summary>
    /// <param name="world">This rank's communicator.</param>
    /// <param name="settings">Validated settings.</param>
    /// <param name="data">Training and test data (shared read-only by in-process ranks).</param>
    /// <param name="report">Rank 0's output.</param>
    /// <param name="initial">The resumed checkpoint, or null to start from seeded initialization.</param>
    /// <param name="afterStep">Test hook called after each step with (epoch, step).</param>
    public static Checkpoint Run(Communicator world, TrainSettings settings, TrainTestData data, Checkpoint? initial,
        ReportWriter report, Action<int, int>? afterStep = null)
    {
        // Federated rounds are not epochs over a global batch sequence: they have their own loop (Federated/).
        if (settings.Ledger is not null) return Ledger.LedgerTrainer.Run(world, settings, data, report);
        if (settings.Federated is not null) return Federated.FederatedTrainer.Run(world, settings, data, initial, report, afterStep);
        using var backend = KernelBackends.Create(settings.Device, KernelThreads.PerRank(settings.Ranks));
        var clock = new CommunicationClock();
        var context = new StrategyContext(world, settings, backend, data, clock);
        initial ??= InitialState(settings, context.Layout);
        using var strategy = StrategyFactory.Create(context);
        using var evaluator = new Evaluator(world, backend, settings.Layers, data.Test);
        strategy.Load(initial);
        bool lead = world.Rank == 0;
        if (lead)
        {
            report.Line($"Train: {settings.StrategyName} on {settings.Ranks} ranks ({world.TransportName}), device {backend.Name}, layers {string.Join(",", settings.Layers)} ({context.Layout.Count} parameters)");
            report.Line($"data: {data.Description}; global batch {settings.BatchSize}, {settings.Optimizer.Kind} lr {settings.Optimizer.LearningRate}" +
                (settings.Optimizer.Kind == Optim.OptimizerKind.Sgd ? $" momentum {settings.Optimizer.Momentum}" : "") + (settings.CosineSchedule ? " (cosine decay)" : "") +
                (initial.CompletedEpochs > 0 ? $"; resuming after epoch {initial.CompletedEpochs}" : ""));
            foreach (string line in strategy.Preamble()) report.Line(line);
        }
        var dp = settings.DpPlan;
        var samplingSecret = dp is null ? default : SharedSecret(world);
        var privacy = dp is not null && lead ? new PrivacyRun(dp) : null;
        if (privacy is not null)
        {
            report.Line(dp!.Describe());
            if (privacy.Warning is { } warning) report.Line(warning);
        }
        var state = initial;
        for (int epoch = initial.CompletedEpochs; epoch < settings.Epochs; epoch++)
        {
            var sampler = dp is null
                ? new EpochSampler(data.Train.Count, settings.BatchSize, settings.Seed, epoch)
                : EpochSampler.Poisson(data.Train.Count, settings.BatchSize, samplingSecret, epoch);
            clock.Reset();
            context.Phases.Reset();
            context.Schedule.SetEpoch(epoch);
            world.Barrier();
            long start = Stopwatch.GetTimestamp();
            int shownEpoch = epoch + 1;
            var tally = strategy.TrainEpoch(sampler, step =>
            {
                if (lead) report.Progress(shownEpoch, step, sampler.StepCount);
                afterStep?.Invoke(shownEpoch, step);
            });
            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            var sums = new double[4 + PhaseTimings.PhaseCount];
            (sums[0], sums[1], sums[2], sums[3]) = (tally.LossSum, tally.Correct, tally.Samples, clock.Elapsed.TotalSeconds / Math.Max(seconds, 1e-9));
            context.Phases.CopySeconds(sums.AsSpan(4));
            world.AllReduce(sums.AsSpan(), ReduceOp.Sum);
            state = strategy.Gather(epoch + 1);
            double testAccuracy = evaluator.Accuracy(state.Parameters);
            if (lead)
            {
                // DP-SGD: the epoch's steps go into the accountant and the checkpoint, then (once durable) the ledger.
                AllReduceNet.Privacy.Accounting.PrivacyGuarantee? epsilon = null, datasetEpsilon = null;
                if (privacy is not null)
                {
                    epsilon = privacy.ComposeEpoch();
                    state = state with { Privacy = privacy.CheckpointSection() };
                }
                if (settings.CheckpointPath is not null) CheckpointFile.Write(settings.CheckpointPath, state);
                // What serving compares its requests against travels with every checkpoint (docs/drift.md).
                if (settings.CheckpointPath is not null) ReferenceStatisticsBuilder.Build(state, data.Train, data.Test, settings.Seed).Write(ReferenceStatistics.PathBeside(settings.CheckpointPath));
                if (privacy is not null) datasetEpsilon = privacy.RecordEpoch();
                double samples = Math.Max(sums[2], 1);
                report.Epoch(new EpochReport(shownEpoch, settings.Epochs, settings.StrategyName, settings.Ranks, sums[0] / samples,
                    sums[1] / samples, testAccuracy, seconds, (double)sampler.StepCount * settings.BatchSize / seconds, sums[3] / world.Size, strategy.ConsensusDistance)
                {
                    Epsilon = epsilon?.Epsilon,
                    Delta = dp?.Delta,
                    DatasetEpsilon = datasetEpsilon?.Epsilon,
                    BytesPerStep = strategy.BytesPerStep,
                    PhaseSeconds = MeanOverRanks(sums.AsSpan(4), world.Size),
                });
            }
            // The checkpoint is on disk before any rank starts the next epoch.
            world.Barrier();
        }
        var lines = strategy.Describe(); // collective: strategies may sum counters over ranks
        if (lead)
            foreach (string line in lines) report.Line(line);
        return state;
    }

    /// <summary>The ranks' mean seconds per phase, or null where the strategy measures none (pipeline, ps servers).</summary>
    private static double[]? MeanOverRanks(ReadOnlySpan<double> phaseSums, int ranks)
    {
        double total = 0;
        foreach (double x in phaseSums) total += x;
        if (total <= 0) return null;
        var mean = new double[phaseSums.Length];
        for (int p = 0; p < mean.Length; p++) mean[p] = phaseSums[p] / ranks;
        return mean;
    }

    /// <summary>DP-SGD's Poisson sampling key: drawn by rank 0 from the OS's secure generator and broadcast, so the ranks
    /// agree on the batches and nobody can recompute them from the command line (collective).</summary>
    private static Kernels.Seed128 SharedSecret(Communicator world)
    {
        Span<uint> key = stackalloc uint[4];
        if (world.Rank == 0) RandomNumberGenerator.Fill(System.Runtime.InteropServices.MemoryMarshal.AsBytes(key));
        world.Broadcast(key, 0);
        return new Kernels.Seed128(key[0], key[1], key[2], key[3]);
    }

    public static Checkpoint InitialState(TrainSettings settings, ParameterLayout layout)
    {
        var slots = new float[settings.Optimizer.SlotCount][];
        for (int s = 0; s < slots.Length; s++) slots[s] = new float[layout.Count];
        return new Checkpoint(settings.Layers, 0, settings.Seed, settings.Optimizer.Kind, 0,
            ParameterInitializer.Create(layout, settings.Seed), slots);
    }
}
