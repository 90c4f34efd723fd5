using System.Numerics.Tensors;
using AllReduceNet.Collectives;

namespace AllReduceNet.Training.Strategies.Gossip;

/// <summary>
/// Synchronous gossip: every round each rank posts a receive from each neighbour, sends its replica to each, waits for
/// all of them (one timeout for the round) and mixes x_i &lt;- W_ii x_i + sum_j W_ij x_j, neighbours in ascending rank
/// order so the float sums are reproducible. No AllReduce, no rank with a special role: this is D-PSGD's averaging.
/// Round r uses tag base + r mod 2: a neighbour is at most one round ahead (it cannot finish round r + 1 without our
/// round r + 1 message), so two tags keep consecutive rounds apart.
/// </summary>
internal sealed class GossipMixer : IGossipMixer
{
    private const int TagBase = 4100;
    private readonly Communicator _world;
    private readonly int[] _neighbours;
    private readonly float _selfWeight;
    private readonly float[] _neighbourWeights;
    private readonly float[] _outbox;
    private readonly float[][] _inbox;
    private readonly Request[] _requests;

    public GossipMixer(Communicator world, GossipTopology topology, int count)
    {
        _world = world;
        int rank = world.Rank;
        _neighbours = topology.Neighbours[rank];
        _selfWeight = (float)topology.Weight(rank, rank);
        _neighbourWeights = _neighbours.Select(j => (float)topology.Weight(rank, j)).ToArray();
        _outbox = new float[count];
        _inbox = _neighbours.Select(_ => new float[count]).ToArray();
        _requests = new Request[2 * _neighbours.Length];
    }

    public void Mix(Span<float> parameters, long round)
    {
        int tag = TagBase + (int)(round & 1);
        parameters.CopyTo(_outbox);
        for (int k = 0; k < _neighbours.Length; k++) _requests[k] = _world.Irecv<float>(_inbox[k], _neighbours[k], tag);
        for (int k = 0; k < _neighbours.Length; k++) _requests[_neighbours.Length + k] = _world.Isend<float>(_outbox, _neighbours[k], tag);
        try { Request.WaitAll(_requests, _world.DefaultTimeout); }
        catch (CommunicationTimeoutException timeout)
        {
            throw new TrainingException($"gossip: rank {_world.Rank} waited more than {_world.DefaultTimeout} for its neighbours {string.Join(",", _neighbours)} in round {round}: {timeout.Message}", timeout);
        }
        TensorPrimitives.Multiply(parameters, _selfWeight, parameters);
        for (int k = 0; k < _neighbours.Length; k++) TensorPrimitives.MultiplyAdd(_inbox[k], _neighbourWeights[k], parameters, parameters);
    }

    public void EndEpoch(ReadOnlySpan<float> parameters, long round) { } // every round completed all its requests

    public IReadOnlyList<string> Describe() => ["gossip: synchronous (every rank waits for all its neighbours each round)"];

    public void Dispose() { }
}
