using System.Text.Json;
using AllReduceNet.Collectives;
using AllReduceNet.Collectives.Transports.InProcess;
using AllReduceNet.Kernels;
using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Cli;
using AllReduceNet.Training.Federated;
using AllReduceNet.Training.Model;
using AllReduceNet.Training.Strategies.Gossip;

namespace AllReduceNet.Training.Tests;

/// <summary>Decentralized SGD (--strategy gossip): the mixing matrices, pure averaging, training, resume, refusals, MPI.</summary>
public sealed class GossipTests
{
    private const string Common = "--synthetic 480 --layers 12,16,8,3 --batch-size 40 --device cpu";

    public static TheoryData<string, int> Topologies()
    {
        var data = new TheoryData<string, int>();
        for (int n = 2; n <= 16; n++)
        {
            data.Add("ring", n);
            data.Add("exponential", n);
            data.Add("complete", n);
            data.Add("random:1", n);
            if (n / 2 > 1) data.Add($"random:{n / 2}", n);
            if (n >= 4 && Enumerable.Range(2, n / 2).Any(r => n % r == 0 && n / r >= 2)) data.Add("torus", n);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Topologies))]
    public void Mixing_matrix_is_symmetric_doubly_stochastic_and_connected(string spec, int ranks)
    {
        var topology = GossipTopology.Create(spec, ranks, seed: 5);
        for (int i = 0; i < ranks; i++)
        {
            double row = 0, column = 0;
            for (int j = 0; j < ranks; j++)
            {
                double w = topology.Weight(i, j);
                Assert.True(w >= 0, $"W[{i},{j}] = {w} is negative");
                Assert.Equal(w, topology.Weight(j, i), 12);
                if (i != j) Assert.Equal(topology.Neighbours[i].Contains(j), w > 0);
                row += w;
                column += topology.Weight(j, i);
            }
            Assert.Equal(1.0, row, 12);
            Assert.Equal(1.0, column, 12);
        }
        // Connected: the eigenvalue 1 is simple, so the gap is positive and gossip reaches consensus.
        Assert.InRange(topology.SpectralGap, 1e-6, 1.0);
        // Every rank derives the same graph from the seed.
        var again = GossipTopology.Create(spec, ranks, seed: 5);
        Assert.Equal(topology.Neighbours, again.Neighbours);
    }

    [Fact]
    public void Ring_of_8_has_uniform_one_third_weights_and_the_known_gap()
    {
        var ring = GossipTopology.Create("ring", 8, seed: 1);
        Assert.Equal(1 / 3.0, ring.Weight(3, 3), 12);
        Assert.Equal(1 / 3.0, ring.Weight(3, 4), 12);
        Assert.Equal(1 / 3.0, ring.Weight(0, 7), 12);
        // Eigenvalues of the ring are (1 + 2 cos(2 pi k / 8)) / 3; the second largest modulus is k = 1.
        Assert.Equal((1 + 2 * Math.Cos(2 * Math.PI / 8)) / 3, ring.SecondLargestEigenvalueModulus, 9);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(5)]
    public void Complete_topology_averages_exactly(int ranks)
    {
        var complete = GossipTopology.Create("complete", ranks, seed: 1);
        for (int i = 0; i < ranks; i++)
            for (int j = 0; j < ranks; j++) Assert.Equal(1.0 / ranks, complete.Weight(i, j), 12);
        Assert.Equal(0, complete.SecondLargestEigenvalueModulus, 9);
    }

    [Fact]
    public void Pure_gossip_on_a_ring_of_8_converges_to_the_mean_at_the_spectral_rate()
    {
        const int ranks = 8, count = 257, rounds = 40;
        var topology = GossipTopology.Create("ring", ranks, seed: 1);
        var history = InProcessWorld.Run(ranks, world =>
        {
            var random = new Random(100 + world.Rank);
            var x = Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            var snapshots = new List<float[]> { (float[])x.Clone() };
            using var mixer = new GossipMixer(world, topology, count);
            for (int r = 0; r < rounds; r++) { mixer.Mix(x, r); snapshots.Add((float[])x.Clone()); }
            return snapshots;
        });
        var mean0 = Mean(history, 0);
        double d0 = Distance(history, 0), rate = topology.SecondLargestEigenvalueModulus * topology.SecondLargestEigenvalueModulus;
        for (int t = 1; t <= rounds; t++)
        {
            double d = Distance(history, t);
            // ||W^t x - mean||^2 <= SLEM^(2t) ||x - mean||^2 (W symmetric, doubly stochastic), plus float rounding.
            Assert.True(d <= Math.Pow(rate, t) * d0 * 1.0001 + 1e-9, $"round {t}: distance {d:E3} above the spectral bound {Math.Pow(rate, t) * d0:E3}");
            Harness.AssertClose(mean0, Mean(history, t), 1e-5f, $"mean after round {t}");
        }
        // And not faster than predicted: once the slowest eigenvector dominates, each round shrinks by SLEM^2.
        Assert.InRange(Distance(history, 21) / Distance(history, 20), rate * 0.97, rate * 1.001);
        Assert.True(Distance(history, rounds) < 1e-6 * d0, "the replicas did not reach consensus");
    }

    [Fact]
    public void Asynchronous_gossip_also_reaches_consensus_and_settles_its_messages()
    {
        const int ranks = 8, count = 64, rounds = 60;
        var topology = GossipTopology.Create("ring", ranks, seed: 1);
        var finals = InProcessWorld.Run(ranks, world =>
        {
            var random = new Random(200 + world.Rank);
            var x = Enumerable.Range(0, count).Select(_ => (float)random.NextDouble()).ToArray();
            using var mixer = new AsyncGossipMixer(world, topology, count, staleness: 2);
            for (int r = 0; r < rounds; r++)
            {
                if (world.Rank == 3) Thread.Sleep(2); // a slow peer
                mixer.Mix(x, r);
            }
            mixer.EndEpoch(x, rounds - 1);
            world.Barrier(); // nothing left in flight: collectives work afterwards
            return new List<float[]> { x };
        });
        var initial = InProcessWorld.Run(ranks, world =>
        {
            var random = new Random(200 + world.Rank);
            return new List<float[]> { Enumerable.Range(0, count).Select(_ => (float)random.NextDouble()).ToArray() };
        });
        Assert.True(Distance(finals, 0) < 1e-3 * Distance(initial, 0), $"async gossip left distance {Distance(finals, 0):E3} of {Distance(initial, 0):E3}");
    }

    [Theory]
    [InlineData("")]
    [InlineData("--topology exponential --gossip-every 2")]
    [InlineData("--topology random:2 --gossip-async")]
    [InlineData("--topology complete --gossip-every 8")]   // local SGD
    public void Gossip_trains_to_an_accuracy_close_to_ddp(string options)
    {
        using var dir = new TempDirectory();
        var ddp = RunAndLog(dir, "ddp", $"--strategy ddp --ranks 8 --epochs 4 {Common}");
        var gossip = RunAndLog(dir, "gossip", $"--strategy gossip --ranks 8 --epochs 4 {Common} {options}".TrimEnd());
        double ddpAccuracy = ddp[^1].GetProperty("test_accuracy").GetDouble();
        double gossipAccuracy = gossip[^1].GetProperty("test_accuracy").GetDouble();
        Assert.True(gossipAccuracy >= 0.85, $"gossip reached only {gossipAccuracy:P1}");
        Assert.True(gossipAccuracy >= ddpAccuracy - 0.05, $"gossip {gossipAccuracy:P1} is far below ddp {ddpAccuracy:P1}");
        // The replicas differ during training, and the consensus distance is logged every epoch.
        Assert.All(gossip, e => Assert.True(e.GetProperty("consensus_distance").GetDouble() > 0));
        Assert.False(ddp[^1].TryGetProperty("consensus_distance", out _));
    }

    [Fact]
    public void Gossip_prints_the_mixing_matrix_and_the_per_rank_spread()
    {
        var output = new StringWriter();
        Assert.Equal(0, TrainCommand.Run([.. $"--strategy gossip --ranks 4 --epochs 1 --no-checkpoint {Common}".Split(' ')], output, TextWriter.Null));
        string text = output.ToString();
        Assert.Contains("gossip topology ring: degree 2..2", text);
        Assert.Contains("spectral gap", text);
        Assert.Contains("   3:  0.333  0.000  0.333  0.333", text);
        Assert.Contains("per-rank replica test accuracy", text);
        Assert.Contains("consensus", text);
    }

    [Fact]
    public void Resume_continues_from_the_averaged_checkpoint()
    {
        using var dir = new TempDirectory();
        string checkpoint = dir.File("gossip.ckpt");
        string args = $"--strategy gossip --ranks 4 {Common} --checkpoint {checkpoint}";
        Assert.Equal(0, TrainCommand.Run([.. $"{args} --epochs 2".Split(' ')], TextWriter.Null, TextWriter.Null));
        var afterTwo = CheckpointFile.Read(checkpoint);
        Assert.Equal(2, afterTwo.CompletedEpochs);
        Assert.Equal(0, TrainCommand.Run([.. $"{args} --epochs 3 --resume".Split(' ')], TextWriter.Null, TextWriter.Null));
        var afterThree = CheckpointFile.Read(checkpoint);
        Assert.Equal(3, afterThree.CompletedEpochs);
        Assert.Equal(afterTwo.OptimizerSteps * 3 / 2, afterThree.OptimizerSteps);
        Assert.NotEqual(afterTwo.Parameters, afterThree.Parameters);
    }

    [Theory]
    [InlineData("signflip:3", -3.0)]
    [InlineData("signflip", -1.0)]
    [InlineData("scale:2", 2.0)]
    public void A_malicious_rank_takes_the_poisoned_form_of_its_own_step(string attack, double factor)
    {
        using var backend = KernelBackends.Create("cpu");
        int[] layers = [4, 3, 2];
        using var model = new Mlp(backend, layers);
        int count = new ParameterLayout(layers).Count;
        var before = Enumerable.Range(0, count).Select(i => 0.01f * i - 0.1f).ToArray();
        var step = Enumerable.Range(0, count).Select(i => (i % 3 - 1) * 0.25f).ToArray();
        model.WriteParameters(before);
        var poisoner = new GossipAttack(AttackSpec.Parse(attack, "1", 4), 4, seed: 1, count);
        // The honest step stands in for the optimizer's: x_after = x_before + step.
        poisoner.PoisonStep(() =>
        {
            var x = new float[count];
            model.ReadParameters(x);
            for (int i = 0; i < count; i++) x[i] += step[i];
            model.WriteParameters(x);
        }, model, rank: 0, stepNumber: 7);
        var after = new float[count];
        model.ReadParameters(after);
        for (int i = 0; i < count; i++) Assert.Equal(before[i] + factor * step[i], after[i], 1e-5);
    }

    [Fact]
    public void Sign_flipping_ranks_wreck_plain_gossip_and_the_report_names_them()
    {
        using var dir = new TempDirectory();
        string args = $"--strategy gossip --ranks 8 --epochs 3 {Common}";
        var clean = RunAndLog(dir, "clean", args);
        var output = new StringWriter();
        string log = dir.File("attacked.jsonl");
        Assert.Equal(0, TrainCommand.Run([.. $"{args} --attack signflip:4 --malicious 2 --no-checkpoint --log-json {log}".Split(' ')], output, TextWriter.Null));
        var attacked = File.ReadAllLines(log).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        double cleanAccuracy = clean[^1].GetProperty("test_accuracy").GetDouble();
        double attackedAccuracy = attacked[^1].GetProperty("test_accuracy").GetDouble();
        Assert.True(cleanAccuracy >= 0.85, $"clean gossip reached only {cleanAccuracy:P1}");
        // Plain gossip has no defence: two gradient-ascent neighbours pull every honest replica off (3 classes: chance is 33%).
        Assert.True(attackedAccuracy < cleanAccuracy - 0.3, $"with 2 sign-flipping ranks gossip still reached {attackedAccuracy:P1} (clean {cleanAccuracy:P1})");
        // The same seeded choice of attackers as the federated strategies', named in the report.
        var malicious = new ClientAttack(AttackSpec.Parse("signflip:4", "2", 8), 8, seed: 1).Malicious;
        string text = output.ToString();
        Assert.Contains($"gossip attack: signflip x4, 2 malicious clients (ranks {string.Join(",", malicious)}): each of their local steps becomes x_before - 4 (x_after - x_before)", text);
        Assert.Contains("the honest ranks' averaged model (mean of their 6 replicas)", text);
        Assert.Contains($"gossip: the attackers' own replicas: rank {malicious[0]} ", text);
    }

    [Theory]
    [InlineData("--strategy gossip --ranks 8 --topology star", "--topology 'star' is unknown")]
    [InlineData("--strategy gossip --ranks 8 --topology random:8", "K = 8 is too large for 8 ranks")]
    [InlineData("--strategy gossip --ranks 8 --topology random:x", "K must be a positive integer")]
    [InlineData("--strategy gossip --ranks 7 --topology torus", "7 is prime")]
    [InlineData("--strategy gossip --ranks 2 --topology torus", "2 is too small")]
    [InlineData("--strategy gossip --ranks 8 --gossip-every 0", "--gossip-every must be at least 1")]
    [InlineData("--strategy gossip --ranks 8 --gossip-staleness 3", "--gossip-staleness applies with --gossip-async only")]
    [InlineData("--strategy ddp --ranks 8 --topology ring", "--topology applies to --strategy gossip only")]
    [InlineData("--strategy gossip --ranks 8 --attack signflip:4", "--attack needs --malicious M")]
    [InlineData("--strategy gossip --ranks 8 --malicious 2", "--malicious needs --attack")]
    [InlineData("--strategy gossip --ranks 8 --attack labelflip --malicious 2", "--attack labelflip does not apply to --strategy gossip")]
    [InlineData("--strategy gossip --ranks 8 --attack alie --malicious 2", "--attack alie does not apply to --strategy gossip")]
    [InlineData("--strategy gossip --ranks 8 --attack signflip --malicious 8", "--malicious 8 of 8 ranks leaves no honest rank")]
    [InlineData("--strategy gossip --ranks 8 --attack signflip --malicious 0.99", "--malicious 0.99 of 8 ranks leaves no honest rank")]
    [InlineData("--strategy gossip --ranks 8 --attack signflip:-1 --malicious 2", "signflip:K needs a positive scale K")]
    [InlineData("--strategy ddp --ranks 8 --attack signflip --malicious 2", "--attack applies to the federated strategies only")]
    public void Bad_gossip_options_are_refused_before_training(string args, string expected) =>
        RefusedArguments.AssertRefused($"{args} {Common}", expected);

    [MpiTheory]
    [InlineData("")]
    [InlineData("--gossip-async")]
    public void Gossip_under_mpiexec_with_4_ranks(string options)
    {
        using var dir = new TempDirectory();
        string common = $"--strategy gossip {Common} --epochs 2 {options}".TrimEnd();
        string inProcess = dir.File("in-process.ckpt"), mpi = dir.File("mpi.ckpt");
        string output = MpiTrain.Run(4, $"{common} --checkpoint {mpi}");
        Assert.Contains("on 4 ranks (mpi (MPICH", output);
        Assert.Contains("consensus", output);
        Assert.Equal(2, CheckpointFile.Read(mpi).CompletedEpochs);
        if (options.Length > 0) return; // asynchronous mixing depends on timing
        // Synchronous gossip mixes in a fixed order: the same replicas on either transport.
        Assert.Equal(0, TrainCommand.Run([.. $"{common} --ranks 4 --checkpoint {inProcess}".Split(' ')], TextWriter.Null, TextWriter.Null));
        Assert.Equal(CheckpointFile.Read(inProcess).Parameters, CheckpointFile.Read(mpi).Parameters);
    }

    private static List<JsonElement> RunAndLog(TempDirectory dir, string name, string args)
    {
        string log = dir.File($"{name}.jsonl");
        Assert.Equal(0, TrainCommand.Run([.. $"{args} --no-checkpoint --log-json {log}".Split(' ')], TextWriter.Null, TextWriter.Null));
        return File.ReadAllLines(log).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
    }

    private static float[] Mean(List<float[]>[] history, int t)
    {
        var mean = new float[history[0][t].Length];
        foreach (var rank in history)
            for (int i = 0; i < mean.Length; i++) mean[i] += rank[t][i] / history.Length;
        return mean;
    }

    private static double Distance(List<float[]>[] history, int t)
    {
        var mean = Mean(history, t);
        double sum = 0;
        foreach (var rank in history)
            for (int i = 0; i < mean.Length; i++) sum += (double)(rank[t][i] - mean[i]) * (rank[t][i] - mean[i]);
        return sum / history.Length;
    }
}
