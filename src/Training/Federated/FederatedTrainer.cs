using System.Diagnostics;
using AllReduceNet.Collectives;
using AllReduceNet.Kernels;
using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Cli;
using AllReduceNet.Training.Data;
using AllReduceNet.Training.Model;
using AllReduceNet.Training.Training;

namespace AllReduceNet.Training.Federated;

/// <summary>
/// The round loop of the federated strategies (fedavg, fedprox, fedavgm), in the place of <see cref="Trainer"/>'s
/// epoch loop: a round is not a pass over a global batch sequence, so these strategies do not fit IStrategy's
/// TrainEpoch. Each round: every rank builds the same <see cref="RoundPlan"/>, simulates its slice of the sampled
/// clients (<see cref="ClientSimulator"/>), the <see cref="IUpdateAggregator"/> brings the sum of the reporting
/// clients' updates to the server (rank 0), the server broadcasts it and every rank applies the same
/// <see cref="ServerOptimizer"/> step; then the test set is evaluated (sharded over the ranks), rank 0 writes the
/// checkpoint (the global model and the server momentum as optimizer slot 0; completed epochs = completed rounds)
/// and the round's report. A round whose aggregate was aborted leaves the model unchanged and training goes on.
/// </summary>
internal static class FederatedTrainer
{
    private const int Server = 0;

    /// <summary>Collective over <paramref name="world"/>; returns the final state (on every rank).</summary>
    /// <param name="world">This rank's communicator.</param>
    /// <param name="settings">Validated settings with <see cref="TrainSettings.Federated"/> set.</param>
    /// <param name="data">Training and test data (shared read-only by in-process ranks).</param>
    /// <param name="initial">The resumed checkpoint, or null to start from seeded initialization.</param>
    /// <param name="report">Rank 0's output.</param>
    /// <param name="afterClient">Test hook called after each simulated client with (1-based round, position in the sampled list).</param>
    public static Checkpoint Run(Communicator world, TrainSettings settings, TrainTestData data, Checkpoint? initial,
        ReportWriter report, Action<int, int>? afterClient = null)
    {
        var federated = settings.Federated ?? throw new ArgumentException("the settings name no federated strategy.", nameof(settings));
        using var backend = KernelBackends.Create(settings.Device, KernelThreads.PerRank(settings.Ranks));
        var layout = new ParameterLayout(settings.Layers);
        initial ??= Trainer.InitialState(settings, layout);
        var partition = ClientPartition.Create(data.Train, federated.Clients, federated.Partition, settings.Seed);
        var attack = federated.Robust?.Attack is { } attackSpec ? new ClientAttack(attackSpec, federated.Clients, settings.Seed) : null;
        using var simulator = new ClientSimulator(backend, settings, federated, data.Train, attack);
        using var evaluator = new Evaluator(world, backend, settings.Layers, data.Test);
        // Client-level DP: the bookkeeping first (a resumed clip norm, the budget check) so a refused run trains nothing.
        var privacy = federated.ClientDp is { } dp
            ? ClientDp.ClientDpSession.Start(dp, settings.CheckpointPath, initial.CompletedEpochs, settings.Epochs, world.Rank == Server)
            : null;
        using var aggregator = federated.ClientDp is { } clientDp
            ? new ClientDp.ClientDpAggregator(clientDp, CreateAggregator(federated, partition, layout.Count + 2, settings.Seed), backend, settings.Seed, privacy!.ClipNorm, federated.SecureAggregation?.DeltaClip)
            : CreateAggregator(federated, partition, layout.Count + 1, settings.Seed);
        var parameters = (float[])initial.Parameters.Clone();
        var momentum = (float[])initial.OptimizerSlots[0].Clone();
        long serverSteps = initial.OptimizerSteps;
        int vectorLength = layout.Count + 1;
        bool lead = world.Rank == Server;
        if (lead)
        {
            var sizes = partition.Clients.Select(c => c.Length).Order().ToArray();
            report.Line($"Train: {settings.StrategyName} on {settings.Ranks} ranks ({world.TransportName}), device {backend.Name}, layers {string.Join(",", settings.Layers)} ({layout.Count} parameters), aggregation {aggregator.Name}");
            if (privacy?.Ledger is { } ledger) report.Line($"privacy ledger {ledger.Path}, run {privacy.RunId}" + (ledger.TornLastLine is { } torn ? $"; ignored a torn last line: {torn}" : ""));
            report.Line($"data: {data.Description}; client samples min {sizes[0]}, median {sizes[sizes.Length / 2]}, max {sizes[^1]}; client {settings.Optimizer.Kind} lr {settings.Optimizer.LearningRate} momentum {settings.Optimizer.Momentum}" +
                (settings.CosineSchedule ? " (cosine decay over rounds)" : "") + (initial.CompletedEpochs > 0 ? $"; resuming after round {initial.CompletedEpochs}" : ""));
            if (attack is not null) report.Line($"attack: {attack.Spec}: clients {string.Join(",", attack.Malicious)}");
        }

        var state = initial;
        for (int round = initial.CompletedEpochs; round < settings.Epochs; round++)
        {
            var plan = RoundPlan.Create(federated, settings.Seed, round, world.Size);
            world.Barrier();
            long start = Stopwatch.GetTimestamp();
            var (first, count) = plan.PositionsOf(world.Rank);
            var local = new List<ClientUpdate>(count);
            double lossSum = 0;
            long seen = 0;
            for (int position = first; position < first + count; position++)
            {
                if (!plan.Reports(position)) continue;   // a dropped client never reports: its training would be wasted
                int client = plan.Sampled[position];
                var (update, clientLoss, _, clientSeen) = simulator.Train(round, client, partition.Clients[client], parameters);
                local.Add(update);
                lossSum += clientLoss;
                seen += clientSeen;
                afterClient?.Invoke(round + 1, position);
            }

            // Malicious clients replace their updates (collective: alie needs the benign deltas of every rank).
            if (attack is not null) local = [.. attack.Apply(world, plan, local, vectorLength)];

            // Aligned so that aggregation_seconds does not count rank 0 waiting for the slowest rank's local training.
            world.Barrier();
            long aggregationStart = Stopwatch.GetTimestamp();
            var aggregate = aggregator.Aggregate(world, plan, local, vectorLength);
            double aggregationSeconds = Stopwatch.GetElapsedTime(aggregationStart).TotalSeconds;
            // The server broadcasts the sum (weight last); a zero weight says the round was aborted.
            var outcome = new float[vectorLength];
            if (lead && aggregate is { Sum: { } sum }) sum.CopyTo(outcome, 0);
            world.Broadcast<float>(outcome, Server);
            if (outcome[^1] > 0)
            {
                ServerOptimizer.Apply(parameters, momentum, outcome, federated.ServerLearningRate, federated.ServerMomentum);
                serverSteps++;
            }
            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            Span<double> sums = [lossSum, seen];
            world.AllReduce(sums, ReduceOp.Sum);
            double testAccuracy = evaluator.Accuracy(parameters);
            double roundClip = privacy?.ClipNorm ?? 0;
            if (aggregator is ClientDp.ClientDpAggregator privatized) privacy!.CompleteRound(privatized.ClipNorm);
            state = new Checkpoint(settings.Layers, round + 1, settings.Seed, settings.Optimizer.Kind, serverSteps,
                (float[])parameters.Clone(), [(float[])momentum.Clone()]);
            if (lead)
            {
                privacy?.WriteState();   // before the checkpoint: after a crash the state is ahead, never behind
                if (settings.CheckpointPath is not null) CheckpointFile.Write(settings.CheckpointPath, state);
                privacy?.RecordRound(round);
                report.Round(new RoundReport(round + 1, settings.Epochs, settings.StrategyName, settings.Ranks, plan.Sampled.Count,
                    aggregate!.Contributors, sums[1] > 0 ? sums[0] / sums[1] : 0, testAccuracy, aggregate.BytesSentPerClient, seconds, aggregate.AbortReason, aggregationSeconds, aggregate.SurvivorsByStage,
                    attack?.MaliciousIn(plan), aggregate.Rejected, aggregate.DownWeighted)
                {
                    ClientDp = privacy is null ? null : new ClientDp.ClientDpRoundReport(privacy.Epsilon, federated.ClientDp!.Delta, roundClip, privacy.ClipNorm),
                });
            }
            // The checkpoint is on disk before any rank starts the next round.
            world.Barrier();
        }
        return state;
    }

    /// <summary>
    /// The seam: secure aggregation (src/Privacy) with --secure-aggregation, else the plain sum. The fixed-point range
    /// depends on the largest client (its weight n_k), so the overflow check is made here, on every rank alike,
    /// before the first round.
    /// </summary>
    /// <exception cref="TrainingException">The secure settings could overflow the modulus or do not fit the rounds.</exception>
    internal static IUpdateAggregator CreateAggregator(FederatedSettings federated, ClientPartition partition, int vectorLength, int seed)
    {
        int maxSamples = partition.Clients.Max(c => c.Length);
        if (federated.Robust is { Rule: { } rule } robust)
            return robust.SecureGroups is int groupSize && federated.SecureAggregation is { } grouped
                ? new GroupedSecureAggregator(rule, grouped, groupSize, federated.ClientsPerRound, maxSamples, vectorLength, seed)
                : new RobustUpdateAggregator(rule);
        if (federated.SecureAggregation is not { } secure) return new PlainUpdateAggregator();
        return new SecureUpdateAggregator(secure, secure.CreateSettings(federated.ClientsPerRound, maxSamples, vectorLength), seed);
    }
}
