using System.Buffers.Binary;
using AllReduceNet.Collectives;

namespace AllReduceNet.Training.Ledger;

/// <summary>
/// How a peer that is behind (started late, or restarted after a crash) gets the blocks it lacks, over point-to-point
/// messages: it sends a neighbour its height; the neighbour, which keeps a receive for such requests posted and looks
/// at it at the start of every round, answers with the count of blocks after that height and then the blocks, one
/// record per message. The peer verifies each block against its own chain (hash chain, roles, signatures, model
/// digest) before it appends it to its file, so a neighbour cannot feed it a forged history; a refused block or a
/// silent neighbour sends it to the next neighbour.
/// </summary>
internal sealed class LedgerCatchUp
{
    private const int RequestTag = 11990, HeaderTag = 11991, BlockTag = 11992;
    private readonly Communicator _world;
    private readonly PeerExchange _exchange;
    private readonly long[] _request = new long[1];
    private Request? _pending;

    public LedgerCatchUp(Communicator world, PeerExchange exchange)
    {
        _world = world;
        _exchange = exchange;
    }

    /// <summary>Posts the receive for the next request from any peer.</summary>
    public void Listen() => _pending = _world.Irecv<long>(_request, Communicator.AnySource, RequestTag);

    /// <summary>
    /// Waits (at most <paramref name="wait"/> each) for <paramref name="requests"/> requests and answers them: at start,
    /// every peer knows from the exchanged heights which peers are behind and that they ask the lowest tallest peer.
    /// </summary>
    public void ServeExpected(LedgerChain chain, int requests, TimeSpan wait)
    {
        for (int i = 0; i < requests; i++)
        {
            try { _pending!.Wait(wait); }
            catch (CommunicationTimeoutException) { return; }   // it will be served at the start of a round
            Serve(chain);
        }
    }

    /// <summary>Completes this peer's own posted request receive with a message to itself, so no receive is left
    /// posted when the peer ends (MPI frees its requests at finalize).</summary>
    public void Close()
    {
        _exchange.Send(BitConverter.GetBytes(-1L), _world.Rank, RequestTag);
        try { _pending?.Wait(_exchange.Timeout); }
        catch (CommunicationTimeoutException) { }
        _pending = null;
    }

    /// <summary>Answers a request that arrived, if any; returns the blocks sent.</summary>
    public int Serve(LedgerChain chain)
    {
        if (_pending is not { IsCompleted: true } pending) return 0;
        pending.Test();
        int peer = pending.Status.Source;
        if (peer == _world.Rank) return 0;
        long height = Math.Clamp(_request[0], 0, chain.Height);
        var blocks = chain.Blocks.Skip((int)height + 1).ToArray();
        var header = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(header, blocks.Length);
        _exchange.Send(header, peer, HeaderTag);
        foreach (var block in blocks) _exchange.Send(LedgerBlockCodec.Encode(block), peer, BlockTag);
        Listen();
        return blocks.Length;
    }

    /// <summary>
    /// Asks <paramref name="neighbours"/> in turn for the blocks after this chain's head, verifies and appends them
    /// (to the chain and the file). Returns the blocks fetched and what was refused on the way.
    /// </summary>
    public (int Fetched, List<string> Problems) Fetch(LedgerChain chain, LedgerFile file, IEnumerable<int> neighbours, TimeSpan wait, int maxBlockBytes)
    {
        var problems = new List<string>();
        int fetched = 0;
        foreach (int neighbour in neighbours)
        {
            var header = new byte[8];
            var answer = _world.Irecv<byte>(header, neighbour, HeaderTag);
            _exchange.Send(BitConverter.GetBytes(chain.Height), neighbour, RequestTag);
            try { answer.Wait(wait); }
            catch (CommunicationTimeoutException)
            {
                problems.Add($"ledger catch-up: peer {neighbour} did not answer within {wait.TotalSeconds:F0} s; asking the next neighbour");
                continue;
            }
            long count = BinaryPrimitives.ReadInt64LittleEndian(header);
            var buffer = new byte[maxBlockBytes];
            bool refused = false;
            for (long i = 0; i < count; i++)
            {
                try
                {
                    var status = _world.Receive<byte>(buffer, neighbour, BlockTag, wait);
                    if (refused) continue;   // take the rest off the wire, append nothing more from this neighbour
                    var block = LedgerBlockCodec.Decode(buffer.AsSpan(0, (int)status.ByteCount));
                    chain.Append(block, $"peer {neighbour} (catch-up)");
                    file.Append(block);
                    fetched++;
                }
                catch (LedgerRejectedException e) { problems.Add(e.Message); refused = true; }
                catch (LedgerFormatException e) { problems.Add($"ledger catch-up: block {chain.Height + 1} from peer {neighbour} is not well-formed ({e.Message})"); refused = true; }
                catch (CommunicationTimeoutException) { problems.Add($"ledger catch-up: peer {neighbour} stopped sending after {i} of {count} blocks"); refused = true; break; }
            }
            if (!refused) return (fetched, problems);
        }
        return (fetched, problems);
    }
}
