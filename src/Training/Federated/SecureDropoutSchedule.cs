using AllReduceNet.Privacy.SecureAggregation;

namespace AllReduceNet.Training.Federated;

/// <summary>
/// Which protocol stage each sampled client of a secure round drops before, from the run's seed alone (never the rank
/// count). --dropout keeps its plain meaning, "this client's update does not reach the sum" (<see cref="RoundPlan.Reports"/>,
/// the same draw as a plain run), and this places that failure at a stage drawn uniformly from the three before the
/// masked input leaves the client: advertise keys, share keys, masked input. A client that reports may still drop
/// before unmasking (probability --secagg-unmask-dropout), after its masked input reached the server: the protocol
/// recovers its self-mask from the others' shares and its update stays in the sum. So a secure run sums exactly the
/// clients a plain run with the same seed sums, and the two differ by quantization (and aborted rounds) only.
/// </summary>
internal sealed class SecureDropoutSchedule
{
    private readonly int _seed;
    private readonly double _unmaskDropout;

    public SecureDropoutSchedule(int seed, double unmaskDropout)
    {
        _seed = seed;
        _unmaskDropout = unmaskDropout;
    }

    /// <summary>The stage before which the <paramref name="position"/>-th sampled client drops, or null if it sees the round through.</summary>
    public SecAggStage? DropsBefore(RoundPlan plan, int position)
    {
        int client = plan.Sampled[position];
        if (!plan.Reports(position))
            return (SecAggStage)FederatedRandom.For(_seed, FederatedRandom.Purpose.SecAggDropoutStage, plan.Round, client).Next(3);
        if (_unmaskDropout > 0 && FederatedRandom.For(_seed, FederatedRandom.Purpose.SecAggUnmaskDropout, plan.Round, client).NextDouble() < _unmaskDropout)
            return SecAggStage.Unmasking;
        return null;
    }
}
