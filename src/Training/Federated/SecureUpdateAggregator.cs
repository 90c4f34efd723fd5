using System.Globalization;
using AllReduceNet.Collectives;
using AllReduceNet.Privacy;
using AllReduceNet.Privacy.SecureAggregation;

namespace AllReduceNet.Training.Federated;

/// <summary>
/// Secure aggregation (Bonawitz et al. 2017; SecAgg+ with neighbours) in place of the plain sum: the server, rank 0,
/// learns the sum of the surviving clients' quantized vectors and nothing else. Each client's <see cref="SecAggClient"/>
/// lives on the rank that simulates it this round (created when first needed, kept across rounds: keys are fresh every
/// round anyway); a round's <see cref="SecAggServer"/> lives on rank 0. Per stage, every rank sends its clients'
/// messages to rank 0 as one <see cref="ClientMessageBundle"/>; rank 0 feeds them to the server, completes the stage
/// and sends each rank the replies addressed to its clients (or the abort). The sum is an exact integer sum modulo
/// 2^32, so the dequantized aggregate is bitwise the same whatever the rank count. Dropouts come from
/// <see cref="SecureDropoutSchedule"/>; fewer than t survivors of a stage abort the round (<see cref="AggregatedUpdate.Abort"/>).
/// </summary>
internal sealed class SecureUpdateAggregator : IUpdateAggregator
{
    private const int Server = 0;

    private readonly SecureAggregationSettings _settings;
    private readonly SecureAggregationOptions _options;
    private readonly SecureDropoutSchedule _dropouts;
    private readonly int _seed;
    private readonly Dictionary<int, SecAggClient> _clients = [];

    /// <param name="options">The validated --secagg-* options.</param>
    /// <param name="settings">The protocol settings (<see cref="SecureAggregationOptions.CreateSettings"/>).</param>
    /// <param name="seed">The run's seed: dropout draws and SecAgg+'s graph seed derive from it.</param>
    public SecureUpdateAggregator(SecureAggregationOptions options, SecureAggregationSettings settings, int seed)
    {
        _options = options;
        _settings = settings;
        _seed = seed;
        _dropouts = new SecureDropoutSchedule(seed, options.UnmaskDropout);
    }

    public string Name => string.Create(CultureInfo.InvariantCulture,
        $"secure ({(_settings.Neighbors is int k ? $"SecAgg+ k {k}" : "full SecAgg")}, t {_settings.Threshold}, clip range {_settings.Format.ClipRange} " +
        $"(delta elements clipped to ±{_options.DeltaClip}, then weighted), 2^{_settings.Format.FractionalBits} steps per unit, modulus 2^32, " +
        $"sum error <= {_settings.Format.SumErrorBound(_settings.Format.MaxClients):G3} per element)");

    /// <summary>The protocol settings.</summary>
    public SecureAggregationSettings Settings => _settings;

    public AggregatedUpdate? Aggregate(Communicator world, RoundPlan plan, IReadOnlyList<ClientUpdate> local, int vectorLength)
    {
        if (vectorLength != _settings.VectorLength)
            throw new TrainingException($"round {plan.Round + 1}: the model needs {vectorLength} values (P + 1), but secure aggregation was set up for {_settings.VectorLength}.");
        var updates = new Dictionary<int, ClientUpdate>();
        foreach (var update in local)
        {
            if (update.Vector.Length != vectorLength)
                throw new TrainingException($"round {plan.Round + 1}: client {update.Client}'s update has {update.Vector.Length} values, but the model needs {vectorLength} (P + 1).");
            updates.Add(update.Client, update);
        }

        // This rank's clients, with the stage each drops before (null: never).
        var (start, length) = plan.PositionsOf(world.Rank);
        var mine = new List<(SecAggClient Client, SecAggStage? DropsBefore)>(length);
        for (int position = start; position < start + length; position++)
        {
            int id = plan.Sampled[position];
            if (!_clients.TryGetValue(id, out var client)) _clients[id] = client = new SecAggClient(id, _settings);
            var dropsBefore = _dropouts.DropsBefore(plan, position);
            if ((dropsBefore is null or SecAggStage.Unmasking) != updates.ContainsKey(id))
                throw new TrainingException($"round {plan.Round + 1}: client {id} {(updates.ContainsKey(id) ? "reported an update but drops before its masked input" : "reaches the masked-input stage without an update")}.");
            mine.Add((client, dropsBefore));
        }

        // The protocol's round number is the log's (1-based), so that an abort message names the round the log shows.
        int protocolRound = plan.Round + 1;
        var server = world.Rank == Server
            ? new SecAggServer(_settings, protocolRound, plan.Sampled.ToArray(), GraphSeed(plan.Round))
            : null;
        long bytesSent = 0;
        var advertised = 0;
        Dictionary<int, byte[]> inbox = [];
        foreach (var stage in Enum.GetValues<SecAggStage>())
        {
            var outgoing = ClientMessages(stage, protocolRound, mine, inbox, updates);
            if (server is null)
            {
                ClientMessageBundle.Send(world, ClientMessageBundle.Pack(ClientMessageBundle.Continue, outgoing), Server);
                if (stage == SecAggStage.Unmasking) return null;
                var (status, forMe) = ClientMessageBundle.Unpack(ClientMessageBundle.Receive(world, Server), "the server (rank 0)");
                if (status == ClientMessageBundle.Aborted) return null;
                inbox = forMe.ToDictionary(r => r.Client, r => r.Message);
                continue;
            }

            // Rank 0: every client's message of this stage, in ascending client order (rejections are then named the same way whatever the ranks).
            var received = new List<(int Client, byte[] Message)>(outgoing);
            for (int rank = 1; rank < world.Size; rank++)
                received.AddRange(ClientMessageBundle.Unpack(ClientMessageBundle.Receive(world, rank), $"rank {rank}").Messages);
            received.Sort((a, b) => a.Client.CompareTo(b.Client));
            foreach (var (client, message) in received)
            {
                bytesSent += message.Length;
                try { server.Receive(client, message); }
                catch (PrivacyException) { /* the server counts the client as dropped at this stage (server.Rejected) */ }
            }
            if (stage == SecAggStage.AdvertiseKeys) advertised = received.Count;
            double bytesPerClient = advertised > 0 ? (double)bytesSent / advertised : 0;

            IReadOnlyDictionary<int, byte[]> replies;
            try
            {
                switch (stage)
                {
                    case SecAggStage.AdvertiseKeys: replies = server.CompleteAdvertiseKeys(); break;
                    case SecAggStage.ShareKeys: replies = server.CompleteShareKeys(); break;
                    case SecAggStage.MaskedInput: replies = server.CompleteMaskedInput(); break;
                    default:
                        var result = server.CompleteUnmasking();
                        return new AggregatedUpdate(result.Dequantize(), result.Survivors.Length, bytesPerClient, null) { SurvivorsByStage = SurvivorCounts(server) };
                }
            }
            catch (SecureAggregationAbortedException abort)
            {
                if (stage != SecAggStage.Unmasking)
                    for (int rank = 1; rank < world.Size; rank++)
                        ClientMessageBundle.Send(world, ClientMessageBundle.Pack(ClientMessageBundle.Aborted, []), rank);
                return AggregatedUpdate.Abort($"secure aggregation: {abort.Message}", bytesPerClient) with { SurvivorsByStage = SurvivorCounts(server) };
            }
            for (int rank = 1; rank < world.Size; rank++)
            {
                var (first, count) = plan.PositionsOf(rank);
                var forRank = new List<(int, byte[])>(count);
                for (int position = first; position < first + count; position++)
                    if (replies.TryGetValue(plan.Sampled[position], out var reply)) forRank.Add((plan.Sampled[position], reply));
                ClientMessageBundle.Send(world, ClientMessageBundle.Pack(ClientMessageBundle.Continue, forRank), rank);
            }
            inbox = new Dictionary<int, byte[]>(replies);
        }
        throw new System.Diagnostics.UnreachableException("the unmasking stage returns");
    }

    /// <summary>
    /// This rank's clients' messages of <paramref name="stage"/>: those still in the round (they got a server message,
    /// or it is the first stage) and not dropping now. A client that refuses a server message (PrivacyException) sends
    /// nothing: the server counts it as dropped.
    /// </summary>
    private List<(int Client, byte[] Message)> ClientMessages(SecAggStage stage, int round, List<(SecAggClient Client, SecAggStage? DropsBefore)> mine,
        Dictionary<int, byte[]> inbox, Dictionary<int, ClientUpdate> updates)
    {
        var active = mine.Where(m => (stage == SecAggStage.AdvertiseKeys || inbox.ContainsKey(m.Client.Id)) && !(m.DropsBefore <= stage))
            .Select(m => m.Client).ToArray();
        var messages = new byte[]?[active.Length];
        // The masked-input stage parallelizes inside each client (its mask expansion); the other stages over clients.
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = stage == SecAggStage.MaskedInput ? 1 : Environment.ProcessorCount };
        Parallel.For(0, active.Length, parallel, i =>
        {
            var client = active[i];
            try
            {
                messages[i] = stage switch
                {
                    SecAggStage.AdvertiseKeys => client.AdvertiseKeys(round),
                    SecAggStage.ShareKeys => client.ShareKeys(inbox[client.Id]),
                    SecAggStage.MaskedInput => MaskedInput(client, inbox[client.Id], updates[client.Id]),
                    _ => client.Unmask(inbox[client.Id]),
                };
            }
            catch (PrivacyException)
            {
                messages[i] = null;
            }
        });
        var result = new List<(int, byte[])>(active.Length);
        for (int i = 0; i < active.Length; i++)
            if (messages[i] is { } message) result.Add((active[i].Id, message));
        return result;
    }

    /// <summary>
    /// Clips each delta element to ±C times the weight, then quantizes the vector (weight included). A client with a
    /// non-finite update refuses to send (it drops): the server could not see the NaN in a masked sum.
    /// </summary>
    private byte[] MaskedInput(SecAggClient client, byte[] relay, ClientUpdate update)
    {
        var vector = (float[])update.Vector.Clone();
        float weight = vector[^1];
        if (!(weight > 0) || !float.IsFinite(weight) || vector.Any(v => !float.IsFinite(v)))
            throw new PrivacyException($"client {client.Id}: a non-finite update or a weight that is not positive ({weight}); it drops.");
        float bound = weight * _options.DeltaClip;
        for (int i = 0; i < vector.Length - 1; i++) vector[i] = Math.Clamp(vector[i], -bound, bound);
        return client.MaskedInput(relay, SecAggClient.Quantize(vector, _settings.Format));
    }

    private ulong GraphSeed(int round) => (ulong)(uint)FederatedRandom.Seed(_seed, FederatedRandom.Purpose.SecAggGraph, round) * 0x9E3779B97F4A7C15UL;

    private static int[] SurvivorCounts(SecAggServer server) => server.SurvivorsByStage.Select(s => s.Length).ToArray();

    public void Dispose()
    {
        foreach (var client in _clients.Values) client.Dispose();
        _clients.Clear();
    }
}
