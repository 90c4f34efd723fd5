using AllReduceNet.Collectives;

namespace AllReduceNet.Training.Federated;

/// <summary>
/// Attack simulation (--attack, --malicious): which clients are malicious (a seeded choice of
/// <see cref="AttackSpec.MaliciousClients"/> of the population, fixed for the run), and what each malicious client
/// reports instead of its honest update. Updates are <c>[n_k delta_k, n_k]</c>: an attack replaces delta_k and keeps
/// the weight n_k (a client that also lied about its weight would be a different attack). labelflip acts earlier, on
/// the client's data (<see cref="ClientSimulator"/>). alie needs the benign clients' deltas of the round (the paper's
/// omniscient attacker): their mean and standard deviation per coordinate come from one AllReduce over the ranks.
/// </summary>
internal sealed class ClientAttack
{
    private readonly HashSet<int> _malicious;
    private readonly int _seed;

    public ClientAttack(AttackSpec spec, int clients, int seed)
    {
        Spec = spec;
        _seed = seed;
        var ids = Enumerable.Range(0, clients).ToArray();
        FederatedRandom.For(seed, FederatedRandom.Purpose.Malicious).Shuffle(ids);
        _malicious = [.. ids[..spec.MaliciousClients]];
    }

    public AttackSpec Spec { get; }

    /// <summary>The malicious clients, ascending.</summary>
    public int[] Malicious => _malicious.Order().ToArray();

    public bool IsMalicious(int client) => _malicious.Contains(client);

    /// <summary>The reporting malicious clients of <paramref name="plan"/>, ascending.</summary>
    public int[] MaliciousIn(RoundPlan plan) =>
        Enumerable.Range(0, plan.Sampled.Count).Where(p => plan.Reports(p) && IsMalicious(plan.Sampled[p])).Select(p => plan.Sampled[p]).ToArray();

    /// <summary>
    /// Collective (for alie; every rank must call it each round). Returns <paramref name="local"/> with each malicious
    /// client's update replaced by its attack; the benign ones are the same objects.
    /// </summary>
    public IReadOnlyList<ClientUpdate> Apply(Communicator world, RoundPlan plan, IReadOnlyList<ClientUpdate> local, int vectorLength)
    {
        if (Spec.Kind == AttackKind.LabelFlip) return local;
        (float[] Mean, float[] Std, double Z)? alie = Spec.Kind == AttackKind.Alie ? BenignStatistics(world, plan, local, vectorLength - 1) : null;
        var result = new List<ClientUpdate>(local.Count);
        foreach (var update in local)
        {
            if (!IsMalicious(update.Client)) { result.Add(update); continue; }
            var delta = new float[vectorLength - 1];
            float weight = update.Weight;
            for (int i = 0; i < delta.Length; i++) delta[i] = update.Vector[i] / weight;
            var attacked = alie is { } statistics
                ? Alie(statistics.Mean, statistics.Std, statistics.Z)
                : Poison(Spec, delta, FederatedRandom.For(_seed, FederatedRandom.Purpose.AttackNoise, plan.Round, update.Client));
            var vector = new float[vectorLength];
            for (int i = 0; i < attacked.Length; i++) vector[i] = attacked[i] * weight;
            vector[^1] = weight;
            result.Add(new ClientUpdate(update.Client, vector));
        }
        return result;
    }

    /// <summary>The delta a malicious client reports for signflip, scale and gaussian, from its honest <paramref name="delta"/>.</summary>
    public static float[] Poison(AttackSpec spec, ReadOnlySpan<float> delta, Random random)
    {
        var result = new float[delta.Length];
        switch (spec.Kind)
        {
            case AttackKind.SignFlip:
                for (int i = 0; i < delta.Length; i++) result[i] = (float)(-spec.Parameter * delta[i]);
                break;
            case AttackKind.Scale:
                for (int i = 0; i < delta.Length; i++) result[i] = (float)(spec.Parameter * delta[i]);
                break;
            case AttackKind.Gaussian:
                for (int i = 0; i < delta.Length; i++) result[i] = (float)(spec.Parameter * GammaSampler.Normal(random));
                break;
            default:
                throw new ArgumentException($"{spec.Kind} is not an attack on the update alone.", nameof(spec));
        }
        return result;
    }

    /// <summary>ALIE's update: mu - z sigma per coordinate.</summary>
    public static float[] Alie(ReadOnlySpan<float> mean, ReadOnlySpan<float> std, double z)
    {
        var result = new float[mean.Length];
        for (int i = 0; i < result.Length; i++) result[i] = (float)(mean[i] - z * std[i]);
        return result;
    }

    /// <summary>
    /// Baruch et al. 2019's z_max for n clients of which m are malicious: s = floor(n/2 + 1) - m benign clients must be
    /// won over; z_max = Phi^-1((n - s) / n). Not positive when s >= n/2 (the attack is then a plain mean).
    /// </summary>
    public static double AlieZ(int n, int m)
    {
        int s = n / 2 + 1 - m;
        return StandardNormal.InverseCdf((double)(n - s) / n);
    }

    /// <summary>Mean and (population) standard deviation of the benign reporting deltas of the round, on every rank.</summary>
    private (float[] Mean, float[] Std, double Z) BenignStatistics(Communicator world, RoundPlan plan, IReadOnlyList<ClientUpdate> local, int length)
    {
        var sums = new double[2 * length + 1];
        foreach (var update in local)
        {
            if (IsMalicious(update.Client)) continue;
            float weight = update.Weight;
            for (int i = 0; i < length; i++)
            {
                double d = update.Vector[i] / weight;
                sums[i] += d;
                sums[length + i] += d * d;
            }
            sums[^1]++;
        }
        world.AllReduce<double>(sums, ReduceOp.Sum);
        double benign = sums[^1];
        var mean = new float[length];
        var std = new float[length];
        if (benign > 0)
            for (int i = 0; i < length; i++)
            {
                double mu = sums[i] / benign;
                mean[i] = (float)mu;
                std[i] = (float)Math.Sqrt(Math.Max(sums[length + i] / benign - mu * mu, 0));
            }
        int n = plan.ReportingCount, m = MaliciousIn(plan).Length;
        return (mean, std, double.IsNaN(Spec.Parameter) ? AlieZ(n, m) : Spec.Parameter);
    }
}
