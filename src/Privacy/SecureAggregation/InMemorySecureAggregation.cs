using System.Diagnostics;

namespace AllReduceNet.Privacy.SecureAggregation;

/// <summary>
/// Runs whole rounds of secure aggregation with every client and the server in this process, passing the byte messages
/// directly: the simulation engine for many clients per rank, and the harness of the protocol's tests and benchmarks.
/// Dropouts are injected before any stage (<see cref="DropoutPlan"/>), and a message filter can alter any client's
/// message on its way to the server (to test malformed input).
/// </summary>
public static class InMemorySecureAggregation
{
    /// <summary>
    /// One round: stages 0 to 3 over <paramref name="clients"/> with their <paramref name="inputs"/>. Returns the sum over
    /// the survivors of the masked-input stage, or the abort (fewer than t clients at some stage).
    /// </summary>
    /// <param name="settings">The settings of clients and server.</param>
    /// <param name="clients">The sampled clients (distinct ids).</param>
    /// <param name="inputs">inputs[i] is clients[i]'s quantized input, settings.VectorLength words.</param>
    /// <param name="round">The round number.</param>
    /// <param name="graphSeed">SecAgg+'s public graph seed.</param>
    /// <param name="dropouts">Who drops before which stage; null for nobody.</param>
    /// <param name="messageFilter">Optional: (stage, client id, message) to the message the server gets.</param>
    /// <returns>The report; never throws for dropouts, malformed messages or an abort.</returns>
    /// <exception cref="PrivacyException">The settings do not fit this many clients.</exception>
    public static SecureAggregationRoundReport RunRound(SecureAggregationSettings settings, IReadOnlyList<SecAggClient> clients, IReadOnlyList<uint[]> inputs,
        int round, ulong graphSeed, DropoutPlan? dropouts = null, Func<SecAggStage, int, byte[], byte[]>? messageFilter = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(clients);
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Count != clients.Count) throw new ArgumentException($"{inputs.Count} inputs for {clients.Count} clients.", nameof(inputs));
        dropouts ??= DropoutPlan.None;
        var byId = new Dictionary<int, (SecAggClient Client, uint[] Input)>();
        for (int i = 0; i < clients.Count; i++) byId[clients[i].Id] = (clients[i], inputs[i]);
        var server = new SecAggServer(settings, round, byId.Keys.ToArray(), graphSeed);
        var refusals = new Dictionary<int, string>();
        long[] sent = new long[4], received = new long[4];
        double[] clientSeconds = new double[4], serverSeconds = new double[4], cpuSeconds = new double[4];
        using var process = Process.GetCurrentProcess();

        // Stage 0 has no server message; the others reply to what the server sent each remaining client.
        IReadOnlyDictionary<int, byte[]> inbox = byId.Keys.ToDictionary(id => id, _ => Array.Empty<byte>());
        try
        {
            foreach (var stage in Enum.GetValues<SecAggStage>())
            {
                var clock = Stopwatch.StartNew();
                process.Refresh();
                var cpuAtStart = process.TotalProcessorTime;
                var outgoing = new (int Id, byte[]? Message)[inbox.Count];
                var work = inbox.Where(kv => !dropouts.Drops(stage, kv.Key)).ToArray();
                var results = new byte[]?[work.Length];
                // Clients work in parallel; the masked-input stage parallelizes inside each client instead (its mask expansion).
                var options = new ParallelOptions { MaxDegreeOfParallelism = stage == SecAggStage.MaskedInput ? 1 : Environment.ProcessorCount };
                var clientErrors = new string?[work.Length];
                Parallel.For(0, work.Length, options, i =>
                {
                    var (id, message) = work[i];
                    var (client, input) = byId[id];
                    try
                    {
                        results[i] = stage switch
                        {
                            SecAggStage.AdvertiseKeys => client.AdvertiseKeys(round),
                            SecAggStage.ShareKeys => client.ShareKeys(message),
                            SecAggStage.MaskedInput => client.MaskedInput(message, input),
                            _ => client.Unmask(message),
                        };
                    }
                    catch (PrivacyException e)
                    {
                        clientErrors[i] = e.Message;
                    }
                });
                clientSeconds[(int)stage] = clock.Elapsed.TotalSeconds;
                clock.Restart();
                for (int i = 0; i < work.Length; i++)
                {
                    int id = work[i].Key;
                    received[(int)stage] += work[i].Value.Length;
                    if (clientErrors[i] is { } error)
                    {
                        refusals[id] = error;
                        continue;
                    }
                    var message = messageFilter is null ? results[i]! : messageFilter(stage, id, results[i]!);
                    sent[(int)stage] += message.Length;
                    try
                    {
                        server.Receive(id, message);
                    }
                    catch (PrivacyException e)
                    {
                        refusals[id] = e.Message;
                    }
                }
                switch (stage)
                {
                    case SecAggStage.AdvertiseKeys: inbox = server.CompleteAdvertiseKeys(); break;
                    case SecAggStage.ShareKeys: inbox = server.CompleteShareKeys(); break;
                    case SecAggStage.MaskedInput: inbox = server.CompleteMaskedInput(); break;
                    default:
                        var result = server.CompleteUnmasking();
                        serverSeconds[(int)stage] = clock.Elapsed.TotalSeconds;
                        process.Refresh();
                        cpuSeconds[(int)stage] = (process.TotalProcessorTime - cpuAtStart).TotalSeconds;
                        return new SecureAggregationRoundReport(result, null, refusals, server.SurvivorsByStage.Select(s => s.Length).ToArray(), sent, received, clientSeconds, serverSeconds, cpuSeconds);
                }
                serverSeconds[(int)stage] = clock.Elapsed.TotalSeconds;
                process.Refresh();
                cpuSeconds[(int)stage] = (process.TotalProcessorTime - cpuAtStart).TotalSeconds;
            }
        }
        catch (SecureAggregationAbortedException abort)
        {
            return new SecureAggregationRoundReport(null, abort, refusals, server.SurvivorsByStage.Select(s => s.Length).ToArray(), sent, received, clientSeconds, serverSeconds, cpuSeconds);
        }
        throw new UnreachableException("the unmasking stage returns");
    }
}
