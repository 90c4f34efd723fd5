using System.Diagnostics;
using AllReduceNet.Collectives;
using AllReduceNet.Kernels;
using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Cli;
using AllReduceNet.Training.Data;
using AllReduceNet.Training.Model;
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
        var state = initial;
        for (int epoch = initial.CompletedEpochs; epoch < settings.Epochs; epoch++)
        {
            var sampler = new EpochSampler(data.Train.Count, settings.BatchSize, settings.Seed, epoch);
            clock.Reset();
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
            Span<double> sums = [tally.LossSum, tally.Correct, tally.Samples, clock.Elapsed.TotalSeconds / Math.Max(seconds, 1e-9)];
            world.AllReduce(sums, ReduceOp.Sum);
            state = strategy.Gather(epoch + 1);
            double testAccuracy = evaluator.Accuracy(state.Parameters);
            if (lead)
            {
                if (settings.CheckpointPath is not null) CheckpointFile.Write(settings.CheckpointPath, state);
                double samples = Math.Max(sums[2], 1);
                report.Epoch(new EpochReport(shownEpoch, settings.Epochs, settings.StrategyName, settings.Ranks, sums[0] / samples,
                    sums[1] / samples, testAccuracy, seconds, (double)sampler.StepCount * settings.BatchSize / seconds, sums[3] / world.Size, strategy.ConsensusDistance));
            }
            // The checkpoint is on disk before any rank starts the next epoch.
            world.Barrier();
        }
        var lines = strategy.Describe(); // collective: strategies may sum counters over ranks
        if (lead)
            foreach (string line in lines) report.Line(line);
        return state;
    }

    public static Checkpoint InitialState(TrainSettings settings, ParameterLayout layout)
    {
        var slots = new float[settings.Optimizer.SlotCount][];
        for (int s = 0; s < slots.Length; s++) slots[s] = new float[layout.Count];
        return new Checkpoint(settings.Layers, 0, settings.Seed, settings.Optimizer.Kind, 0,
            ParameterInitializer.Create(layout, settings.Seed), slots);
    }
}
