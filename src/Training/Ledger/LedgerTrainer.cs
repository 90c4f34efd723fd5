using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using AllReduceNet.Collectives;
using AllReduceNet.Kernels;
using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Cli;
using AllReduceNet.Training.Data;
using AllReduceNet.Training.Federated;
using AllReduceNet.Training.Model;
using AllReduceNet.Training.Training;

namespace AllReduceNet.Training.Ledger;

/// <summary>
/// --strategy p2p-ledger: peer-to-peer training without a coordinator (Biscotti, Shayan et al.), in the place of
/// <see cref="Trainer"/>'s epoch loop. Start-up is the one collective part: the peers exchange their public signing
/// keys (AllGather) and each builds the same genesis block (keys, stakes, role counts, the seeded initial model); a
/// peer that has a ledger file already replays it, verifying every block. Then each round is point-to-point only
/// (<see cref="LedgerProtocol"/>): every peer trains on its own data from the ledger's model, and the block of the
/// round decides the next model. No rank has a permanent role; rank 0 only prints.
/// </summary>
internal static class LedgerTrainer
{
    /// <summary>Collective at start; returns this rank's final state.</summary>
    public static Checkpoint Run(Communicator world, TrainSettings settings, TrainTestData data, ReportWriter report) =>
        RunPeer(world, settings, data, report).Final;

    /// <summary>Runs one peer; returns everything the tests look at.</summary>
    public static LedgerPeerResult RunPeer(Communicator world, TrainSettings settings, TrainTestData data, ReportWriter report)
    {
        var ledger = settings.Ledger ?? throw new ArgumentException("the settings name no p2p-ledger run.", nameof(settings));
        var federated = settings.Federated ?? throw new ArgumentException("p2p-ledger needs the local-training settings.", nameof(settings));
        int me = world.Rank, peers = world.Size;
        bool lead = me == 0;
        using var backend = KernelBackends.Create(settings.Device, KernelThreads.PerRank(settings.Ranks));
        var layout = new ParameterLayout(settings.Layers);
        var partition = ClientPartition.Create(data.Train, peers, federated.Partition, settings.Seed);
        var attack = federated.Robust?.Attack is { } spec ? new ClientAttack(spec, peers, settings.Seed) : null;
        using var simulator = new ClientSimulator(backend, settings, federated, data.Train, attack);

        // Genesis: keys exchanged once, at start; everything after is point-to-point.
        Directory.CreateDirectory(ledger.Directory);
        using var key = LoadOrCreateKey(Path.Combine(ledger.Directory, $"peer-{me}.key"));
        var keys = new byte[peers * LedgerBlockCodec.PublicKeyBytes];
        world.AllGather<byte>(LedgerSigning.ExportPublic(key), keys);
        var initial = Trainer.InitialState(settings, layout).Parameters;
        var genesis = new LedgerBlock(0, new byte[LedgerDigest.Bytes],
            new GenesisSection([.. Enumerable.Range(0, peers).Select(p => keys[(p * 64)..((p + 1) * 64)])], [.. Enumerable.Repeat(ledger.InitialStake, peers)],
                ledger.Noisers, ledger.Verifiers, ledger.Aggregators),
            RoundRoles.None, [], [], LedgerDigest.Of(initial), LedgerDigest.Of(initial), [], initial);
        string path = Path.Combine(ledger.Directory, $"peer-{me}.ledger");
        using var file = LedgerFile.Open(path);
        using var chain = new LedgerChain(genesis, "genesis");
        Replay(file, chain, genesis);
        var heights = new long[peers];
        world.AllGather<long>([chain.Height], heights);
        long tallest = heights.Max();
        using var alone = world.Split(me, 0) ?? throw new InvalidOperationException("Split returned no communicator for a non-negative color.");
        using var evaluator = new Evaluator(alone, backend, settings.Layers, data.Test);

        var exchange = new PeerExchange(world, ledger.Timeout);
        var catchUp = new LedgerCatchUp(world, exchange);
        catchUp.Listen();
        int maxBlock = LedgerProtocol.MaxBlockBytes(peers, layout.Count);
        var protocol = new LedgerProtocol(me, ledger, chain, key, exchange, layout.Count + 1);
        var refusals = new List<string>();
        if (lead)
        {
            report.Line($"Train: {settings.StrategyName} on {peers} peers ({world.TransportName}), device {backend.Name}, layers {string.Join(",", settings.Layers)} ({layout.Count} parameters)");
            report.Line($"data: {data.Description}; one client per peer, partition {federated.Partition}; local SGD lr {settings.Optimizer.LearningRate} momentum {settings.Optimizer.Momentum}, {federated.LocalEpochs} local epoch(s) of batch {federated.LocalBatch}");
            report.Line($"ledger: genesis {genesis.ShortHash} ({peers} peers, stake {ledger.InitialStake} each), files {Path.Combine(ledger.Directory, "peer-N.ledger")}" +
                (chain.Height > 0 ? $"; resuming after block {chain.Height}" : "") + (file.TornTail is { } torn ? $"; cut a torn tail: {torn}" : ""));
            if (attack is not null) report.Line($"attack: {attack.Spec}: peers {string.Join(",", attack.Malicious)}");
        }

        // A late or restarted peer: fetch what it lacks from a neighbour, verifying every block.
        int caughtUp = 0;
        var wait = ledger.Timeout * 20;
        if (ledger.LatePeer == me)
        {
            var neighbours = Enumerable.Range(1, peers - 1).Select(d => (me + d) % peers).ToArray();
            if (ledger.LateBlocks is long blocks)
            {
                // Away until a neighbour's answer reaches block B: a neighbour answers at the start of its rounds, so
                // this peer joins at round B + 1 however loaded the machine is. Every round bounds the wait.
                var deadline = Stopwatch.GetTimestamp() + (long)(wait.TotalSeconds * (blocks + 1) * Stopwatch.Frequency);
                while (chain.Height < blocks)
                {
                    if (Stopwatch.GetTimestamp() > deadline)
                        throw new TrainingException(string.Create(CultureInfo.InvariantCulture,
                            $"ledger: late peer {me} waited {wait.TotalSeconds * (blocks + 1):F0} s for its neighbours to reach block {blocks}, but has {chain.Height}."));
                    var (fetched, problems) = catchUp.Fetch(chain, file, neighbours, wait, maxBlock);
                    caughtUp += fetched;
                    refusals.AddRange(problems);
                }
            }
            else
            {
                Thread.Sleep(TimeSpan.FromSeconds(ledger.LateSeconds));
                var (fetched, problems) = catchUp.Fetch(chain, file, neighbours, wait, maxBlock);
                caughtUp = fetched;
                refusals.AddRange(problems);
            }
        }
        else if (me == Array.IndexOf(heights, tallest))
        {
            // The peers behind at start (restarted with a shorter file) ask this peer first: answer them before round one.
            catchUp.ServeExpected(chain, Enumerable.Range(0, peers).Count(p => heights[p] < tallest && p != ledger.LatePeer), wait);
        }
        else if (chain.Height < tallest)
        {
            int source = Array.IndexOf(heights, tallest);
            var (fetched, problems) = catchUp.Fetch(chain, file, [source, .. Enumerable.Range(0, peers).Where(p => p != me && p != source && heights[p] == tallest)], wait, maxBlock);
            caughtUp = fetched;
            refusals.AddRange(problems);
        }
        long firstRound = chain.Height + 1;
        var outcomes = new List<LedgerRoundOutcome>();
        var forks = new LedgerForkResolver(me, chain, file, exchange, maxBlock, settings.Epochs);
        var rolledBack = new List<string>();
        // The next round follows the head, which a lost fork can move (to a longer winning branch).
        while (chain.Height < settings.Epochs)
        {
            long round = chain.Height + 1;
            catchUp.Serve(chain);
            long start = Stopwatch.GetTimestamp();
            var (update, lossSum, _, seen) = simulator.Train((int)round - 1, me, partition.Clients[me], chain.Model);
            var vector = attack is { } a && a.IsMalicious(me) && a.Spec.Kind != AttackKind.LabelFlip
                ? Poisoned(a, update.Vector, settings.Seed, (int)round)
                : update.Vector;
            double trainSeconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            long protocolStart = Stopwatch.GetTimestamp();
            var (block, submitted, roundRefusals, proposed) = protocol.Run(round, vector);
            if (ledger.EmptyBlockRound == round && ledger.EmptyBlockPeers.Contains(me))
                (block, proposed) = (protocol.EmptyBlock(round, chain.Head, chain.NextRoles()), false);
            chain.Append(block, $"peer {me} (own)");
            file.Append(block);
            var (lostFork, forkRefusals) = forks.Resolve(round);
            roundRefusals.AddRange(forkRefusals);
            if (lostFork is not null)
            {
                rolledBack.Add(lostFork);
                report.Line(lostFork);   // every peer that rolls back says so, not only rank 0
            }
            double protocolSeconds = Stopwatch.GetElapsedTime(protocolStart).TotalSeconds;
            refusals.AddRange(roundRefusals);
            var outcome = new LedgerRoundOutcome(block, submitted, roundRefusals, proposed, seen > 0 ? lossSum / seen : 0, trainSeconds, protocolSeconds);
            outcomes.Add(outcome);
            if (lead) Report(report, settings, peers, round, outcome, evaluator.Accuracy(chain.Model), file.LastRecordBytes, exchange.BytesSent, attack);
        }
        catchUp.Close();
        exchange.Drain();

        string modelDigest = LedgerDigest.Hex(LedgerDigest.Of(chain.Model));
        var final = new Checkpoint(settings.Layers, (int)chain.Height, settings.Seed, settings.Optimizer.Kind, chain.Height, (float[])chain.Model.Clone(),
            [.. Enumerable.Range(0, settings.Optimizer.SlotCount).Select(_ => new float[layout.Count])]);
        if (lead)
        {
            foreach (string refusal in refusals) report.Line($"peer {me}: {refusal}");
            // What a new peer pays to trust this history: read the file, check every block, rebuild the model.
            var verify = Stopwatch.GetTimestamp();
            using (var copy = LedgerFile.Open(path))
            using (var check = new LedgerChain(copy.Blocks[0], path))
                foreach (var block in copy.Blocks.Skip(1)) check.Append(block, path);
            double verifySeconds = Stopwatch.GetElapsedTime(verify).TotalSeconds;
            report.Line(string.Create(CultureInfo.InvariantCulture,
                $"ledger: {chain.Height} blocks, {new FileInfo(path).Length / 1024.0:F1} KiB on disk; a new peer verifies it (hash chain, roles, signatures, model rebuilt from genesis + deltas) in {verifySeconds:F3} s; model digest {LedgerDigest.Short(chain.Model.Length > 0 ? LedgerDigest.Of(chain.Model) : [])}"));
            if (settings.CheckpointPath is { } checkpoint) CheckpointFile.Write(checkpoint, final);
        }
        return new LedgerPeerResult(final, chain.Height, modelDigest, LedgerDigest.Hex(chain.Head.Hash), refusals, caughtUp, firstRound, outcomes, rolledBack);
    }

    private static float[] Poisoned(ClientAttack attack, float[] vector, int seed, int round)
    {
        float weight = vector[^1];
        var delta = new float[vector.Length - 1];
        for (int i = 0; i < delta.Length; i++) delta[i] = vector[i] / weight;
        var poisoned = ClientAttack.Poison(attack.Spec, delta, FederatedRandom.For(seed, FederatedRandom.Purpose.AttackNoise, round));
        var result = new float[vector.Length];
        for (int i = 0; i < poisoned.Length; i++) result[i] = poisoned[i] * weight;
        result[^1] = weight;
        return result;
    }

    /// <summary>Reads a peer's own file into the chain, verifying every block; an empty file gets the genesis block.</summary>
    /// <exception cref="TrainingException">The file belongs to another run, or holds a block that does not verify.</exception>
    private static void Replay(LedgerFile file, LedgerChain chain, LedgerBlock genesis)
    {
        if (file.Blocks.Count == 0) { file.Append(genesis); return; }
        if (!file.Blocks[0].Hash.AsSpan().SequenceEqual(genesis.Hash))
            throw new TrainingException($"ledger file {file.Path} starts with genesis {file.Blocks[0].ShortHash}, but this run's genesis is {genesis.ShortHash} (other keys, peers, seed or layers); use another --ledger-dir.");
        foreach (var block in file.Blocks.Skip(1)) chain.Append(block, file.Path);
    }

    private static ECDsa LoadOrCreateKey(string path)
    {
        var key = LedgerSigning.CreateKey();
        if (File.Exists(path))
        {
            try { key.ImportPkcs8PrivateKey(File.ReadAllBytes(path), out _); }
            catch (CryptographicException e) { key.Dispose(); throw new TrainingException($"ledger key {path} is not a PKCS#8 P-256 private key: {e.Message}", e); }
            return key;
        }
        File.WriteAllBytes(path, key.ExportPkcs8PrivateKey());
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return key;
    }

    private static void Report(ReportWriter report, TrainSettings settings, int peers, long round, LedgerRoundOutcome o, double accuracy, long blockBytes, long bytesSent, ClientAttack? attack)
    {
        var block = o.Block;
        var accepted = block.Accepted.Select(a => a.Peer).ToArray();
        var notAccepted = Enumerable.Range(0, peers).Except(accepted).ToArray();
        var malicious = attack?.Malicious ?? [];
        report.Line(string.Create(CultureInfo.InvariantCulture,
            $"round {round,4}/{settings.Epochs}  block {block.ShortHash}  accepted {accepted.Length}/{peers}{(notAccepted.Length > 0 ? $" (not: {string.Join(",", notAccepted)})" : "")}  contributors {block.Contributors.Length}  loss {o.LocalLoss:F4}  test acc {100 * accuracy:F2}%  block {blockBytes / 1024.0:F1} KiB  train {o.TrainSeconds:F2} s  ledger {o.ProtocolSeconds:F2} s  {block.Roles}") +
            (o.ProposedBlock ? "" : "  (no valid block arrived: empty block)") + (o.Refusals.Count > 0 ? $"  refused {o.Refusals.Count}" : ""));
        if (settings.LogJson is not { } json) return;
        var record = new Dictionary<string, object?>
        {
            ["round"] = round,
            ["rounds"] = settings.Epochs,
            ["strategy"] = settings.StrategyName,
            ["ranks"] = peers,
            ["block"] = LedgerDigest.Hex(block.Hash),
            ["accepted"] = accepted,
            ["not_accepted"] = notAccepted,
            ["malicious_not_accepted"] = notAccepted.Intersect(malicious).ToArray(),
            ["malicious"] = malicious,
            ["contributors"] = block.Contributors,
            ["loss"] = double.IsFinite(o.LocalLoss) ? o.LocalLoss : null,
            ["test_accuracy"] = accuracy,
            ["block_bytes"] = blockBytes,
            ["bytes_sent_rank0"] = bytesSent,
            ["train_seconds"] = o.TrainSeconds,
            ["ledger_seconds"] = o.ProtocolSeconds,
            ["refused"] = o.Refusals,
        };
        File.AppendAllText(json, JsonSerializer.Serialize(record) + "\n");
    }
}
