using System.Globalization;
using System.Numerics.Tensors;
using AllReduceNet.Training.Federated;
using AllReduceNet.Training.Model;

namespace AllReduceNet.Training.Strategies.Gossip;

/// <summary>
/// A poisoning peer in decentralized SGD (--strategy gossip --attack A --malicious M). Gossip has no update to report,
/// only the replica each rank sends its neighbours, so a malicious rank poisons its own local steps and then gossips
/// its replica as an honest rank would: each optimizer step x_before -&gt; x_after (the step an honest rank takes,
/// momentum included) becomes x &lt;- x_before + P(x_after - x_before), where P is the federated attack on a delta
/// (<see cref="ClientAttack.Poison"/>): signflip:S gives x_before - S (x_after - x_before), a sign-flipped step S times
/// as long (gradient ascent); scale:K gives K times the step; gaussian:S replaces the step by N(0, S^2) noise. The
/// honest neighbours mix that replica with weight W_ij, as they cannot tell it from an honest one. The malicious ranks
/// are the same seeded choice as the federated strategies' (<see cref="ClientAttack"/>, clients = ranks).
/// </summary>
internal sealed class GossipAttack
{
    private readonly ClientAttack _attack;
    private readonly int _seed;
    private readonly float[] _before;
    private readonly float[] _step;

    public GossipAttack(AttackSpec spec, int ranks, int seed, int parameterCount)
    {
        _attack = new ClientAttack(spec, ranks, seed);
        _seed = seed;
        _before = new float[parameterCount];
        _step = new float[parameterCount];
    }

    public AttackSpec Spec => _attack.Spec;

    /// <summary>The malicious ranks, ascending.</summary>
    public int[] Malicious => _attack.Malicious;

    public bool IsMalicious(int rank) => _attack.IsMalicious(rank);

    /// <summary>Runs <paramref name="step"/> (the optimizer's step on <paramref name="model"/>) and replaces what it did by its poisoned form.</summary>
    /// <param name="step">The honest optimizer step.</param>
    /// <param name="model">The malicious rank's replica.</param>
    /// <param name="rank">The malicious rank (it seeds gaussian's noise).</param>
    /// <param name="stepNumber">The rank's step count (it seeds gaussian's noise).</param>
    public void PoisonStep(Action step, Mlp model, int rank, long stepNumber)
    {
        model.ReadParameters(_before);
        step();
        model.ReadParameters(_step);
        TensorPrimitives.Subtract(_step, _before, _step);
        var random = FederatedRandom.For(_seed, FederatedRandom.Purpose.AttackNoise, (int)stepNumber, rank);
        var poisoned = ClientAttack.Poison(_attack.Spec, _step, random);
        TensorPrimitives.Add(_before, poisoned, _before);
        model.WriteParameters(_before);
    }

    /// <summary>What the run's report says about the attack.</summary>
    public string Describe()
    {
        string factor = _attack.Spec.Parameter.ToString(CultureInfo.InvariantCulture);
        string step = _attack.Spec.Kind switch
        {
            AttackKind.SignFlip => $"becomes x_before - {factor} (x_after - x_before)",
            AttackKind.Scale => $"becomes x_before + {factor} (x_after - x_before)",
            _ => $"is replaced by N(0, {factor}^2) noise",
        };
        return $"gossip attack: {_attack.Spec} (ranks {string.Join(",", Malicious)}): each of their local steps {step}, then they gossip that replica; accuracy, checkpoint and consensus distance are the honest ranks'";
    }
}
