using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace AllReduceNet.Collectives.Transports.Mpi;

/// <summary>
/// The collectives' messages between MPI ranks on different nodes, carried over TCP connections of the transport's
/// own instead of MPI's point-to-point path: the move Gloo and NCCL's socket transport make. Measured across the two
/// namespace hosts (benchmarks/RESULTS-cluster.md, "tcp"): Open MPI's ob1/tcp moves bytes only while some thread is
/// inside MPI, so a rank must poll MPI_Test, and on few cores that polling takes the CPU the kernel's TCP path needs;
/// here blocking I/O threads move the bytes and a waiting rank sleeps.
/// </summary>
/// <remarks>
/// <para>
/// Set up when the transport is made (collective over its communicator): every rank listens on an IPv4 address of
/// its node (ALLREDUCENET_SOCKET_IFNAME, else the first interface that is up and not loopback), the endpoints are
/// exchanged through MPI_Allreduce, and every rank opens one connection to each rank on another node, for its sends
/// to that rank; it accepts the others' connections for its receives. Ranks on its own node keep MPI's path (or the
/// shared-memory channel, which a communicator spanning nodes does not have). All ranks agree before any connects:
/// one rank with ALLREDUCENET_MPI_SOCKETS=0 or without an address turns the channel off everywhere.
/// </para>
/// <para>
/// One thread per connection: a sender writes each queued send (a 24-byte header: length, the sender's collective
/// count, tag, magic; then the payload straight from the caller's buffer), a receiver reads each header and the
/// payload straight into the buffer of the oldest receive posted for that peer, so messages from one peer match
/// receives in the order they were posted, as MPI's non-overtaking rule promises. A cut link leaves the waits to
/// their deadlines (the collective then names the operation and the peer); a connection the peer closes or resets
/// fails every request on it with an error naming the peer.
/// </para>
/// </remarks>
internal sealed unsafe class SocketChannel : IDisposable
{
    private const int HeaderBytes = 24;
    private const int Magic = 0x41524E54;           // "ARNT", checks that the stream is in step
    private const int InlineBytes = 64 << 10;       // a payload up to this size goes out in one write with its header

    private readonly Socket _listener;
    private readonly Peer?[] _peers;                // null: this rank, or a rank on this node
    private readonly IPEndPoint?[] _endpoints;
    private volatile bool _disposed;

    private SocketChannel(ITransport owner, int rank, Socket listener, IPEndPoint?[] endpoints)
    {
        Owner = owner;
        Rank = rank;
        _listener = listener;
        _endpoints = endpoints;
        _peers = new Peer?[endpoints.Length];
    }

    /// <summary>The communicator whose collectives travel here (for its timeout).</summary>
    public ITransport Owner { get; }

    /// <summary>This rank in the communicator.</summary>
    public int Rank { get; }

    /// <summary>How many ranks this rank has connections to (those on other nodes).</summary>
    public int PeerCount => _peers.Count(p => p is not null);

    /// <summary>True when the collectives' messages to and from <paramref name="peer"/> travel here.</summary>
    public bool Connects(int peer) => (uint)peer < (uint)_peers.Length && _peers[peer] is not null;

    /// <summary>Where <paramref name="peer"/> listens, for messages.</summary>
    public string EndpointOf(int peer) => _endpoints[peer]?.ToString() ?? "no endpoint";

    /// <summary>
    /// Sets up the channel for <paramref name="comm"/> (the collectives' duplicate of <paramref name="owner"/>'s
    /// communicator) when its ranks span nodes (<paramref name="nodeOfRank"/>) and it is not switched off; null
    /// otherwise. Collective over <paramref name="comm"/>.
    /// </summary>
    /// <exception cref="MpiException">An MPI call failed.</exception>
    /// <exception cref="CommunicationTimeoutException">A peer could not be connected to, or did not connect, within the timeout.</exception>
    public static SocketChannel? TryCreate(ITransport owner, MpiLibrary mpi, nint comm, int rank, int size, int[]? nodeOfRank)
    {
        var settings = EnvironmentSettings.Current;
        // 0: off; 1: between nodes; 2: between every pair (ALLREDUCENET_MPI_SOCKETS=all). Every rank takes the same
        // collective steps, then the lowest wins, so that a rank with another setting cannot leave the others waiting.
        long mode = settings.MpiSocketsEverywhere ? 2 : settings.MpiSockets && nodeOfRank is not null ? 1 : 0;
        Socket? listener = null;
        long mine = 0;
        if (mode > 0 && FindAddress(settings.SocketInterfaces, loopbackToo: mode == 2) is { } address)
        {
            listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(address, 0));
            listener.Listen(size);
            var bound = (IPEndPoint)listener.LocalEndPoint!;
            mine = ((long)BinaryPrimitives.ReadUInt32BigEndian(bound.Address.GetAddressBytes()) << 16) | (uint)bound.Port;
        }
        else mode = 0;
        var h = mpi.Handles;
        long agreed;
        mpi.Check(mpi.Allreduce(&mode, &agreed, 1, h.Int64, h.OpMin, comm), "MPI_Allreduce (agreeing on the socket channel)", rank);
        if (agreed == 0 || (agreed == 1 && nodeOfRank is null))
        {
            listener?.Dispose();
            return null;
        }
        var table = new long[size];
        var all = new long[size];
        table[rank] = mine;
        fixed (long* send = table)
        fixed (long* receive = all)
            mpi.Check(mpi.Allreduce(send, receive, size, h.Int64, h.OpMax, comm), "MPI_Allreduce (every rank's socket endpoint)", rank);
        if (agreed == 2) nodeOfRank = Enumerable.Range(0, size).ToArray();   // every rank its own "node"
        var endpoints = new IPEndPoint?[size];
        for (int r = 0; r < size; r++)
        {
            var bytes = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(bytes, (uint)(all[r] >> 16));
            endpoints[r] = new IPEndPoint(new IPAddress(bytes), (int)(all[r] & 0xFFFF));
        }
        var channel = new SocketChannel(owner, rank, listener!, endpoints);
        try
        {
            channel.Connect(nodeOfRank!, Deadline.After(owner.DefaultTimeout));
        }
        catch
        {
            channel.Dispose();
            throw;
        }
        return channel;
    }

    /// <summary>
    /// The IPv4 address to listen on: of the first interface named (or name-prefixed) in <paramref name="names"/>, or
    /// of the first interface that is up and neither loopback nor a container or VM bridge.
    /// </summary>
    private static IPAddress? FindAddress(string[]? names, bool loopbackToo)
    {
        var interfaces = NetworkInterface.GetAllNetworkInterfaces();
        IEnumerable<NetworkInterface> candidates = names is null
            ? interfaces.Where(i => i.OperationalStatus == OperationalStatus.Up && i.NetworkInterfaceType != NetworkInterfaceType.Loopback
                && !i.Name.StartsWith("docker", StringComparison.Ordinal) && !i.Name.StartsWith("virbr", StringComparison.Ordinal))
            : names.SelectMany(n => interfaces.Where(i => i.Name.StartsWith(n, StringComparison.Ordinal)));
        foreach (var candidate in candidates)
            foreach (var unicast in candidate.GetIPProperties().UnicastAddresses)
                if (unicast.Address.AddressFamily == AddressFamily.InterNetwork) return unicast.Address;
        return loopbackToo ? IPAddress.Loopback : null;
    }

    /// <summary>
    /// Opens this rank's connection to each rank on another node, then accepts theirs. The kernel completes a
    /// connection in the listener's backlog before it is accepted, so all ranks connecting first cannot deadlock.
    /// </summary>
    private void Connect(int[] nodeOfRank, Deadline deadline)
    {
        int size = _peers.Length;
        int expected = 0;
        Span<byte> hello = stackalloc byte[8];
        for (int peer = 0; peer < size; peer++)
        {
            if (nodeOfRank[peer] == nodeOfRank[Rank]) continue;
            expected++;
            var socket = ConnectTo(peer, deadline);
            BinaryPrimitives.WriteInt32LittleEndian(hello, Magic);
            BinaryPrimitives.WriteInt32LittleEndian(hello[4..], Rank);
            socket.Send(hello);
            _peers[peer] = new Peer(peer, socket);
        }
        for (int accepted = 0; accepted < expected; accepted++)
        {
            while (!_listener.Poll(100_000, SelectMode.SelectRead))
            {
                if (!deadline.HasPassed) continue;
                var missing = Enumerable.Range(0, size).Where(p => _peers[p] is { Incoming: null }).Select(p => $"rank {p} ({_endpoints[p]})");
                throw new CommunicationTimeoutException(
                    $"rank {Rank}: setting up the collectives' TCP connections timed out after {Owner.DefaultTimeout}: no connection came from {string.Join(", ", missing)} " +
                    $"to this rank's {_endpoints[Rank]} (a firewall, or a rank that did not reach this point; ALLREDUCENET_MPI_SOCKETS=0 keeps to MPI's own path).");
            }
            var incoming = _listener.Accept();
            incoming.ReceiveTimeout = Math.Max(1, deadline.RemainingMilliseconds(int.MaxValue));
            ReceiveExactly(incoming, hello);
            int from = BinaryPrimitives.ReadInt32LittleEndian(hello[4..]);
            if (BinaryPrimitives.ReadInt32LittleEndian(hello) != Magic || !Connects(from) || _peers[from]!.Incoming is not null)
            {
                incoming.Dispose();
                throw new CollectiveException(
                    $"rank {Rank}: a TCP connection to the collectives' endpoint {_endpoints[Rank]} from {incoming.RemoteEndPoint} did not introduce itself as a rank of another node " +
                    $"(magic {BinaryPrimitives.ReadInt32LittleEndian(hello):X8}, rank {from}): another program connected to it?");
            }
            incoming.ReceiveTimeout = 0;
            _peers[from]!.Incoming = incoming;
        }
        foreach (var peer in _peers)
            if (peer is not null) peer.Start(this);
    }

    private Socket ConnectTo(int peer, Deadline deadline)
    {
        var endpoint = _endpoints[peer]!;
        while (true)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                using var timeout = new CancellationTokenSource(deadline.Remaining(TimeSpan.FromDays(1)));
                socket.ConnectAsync(endpoint, timeout.Token).AsTask().GetAwaiter().GetResult();
                return socket;
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                socket.Dispose();
                if (deadline.HasPassed || e is OperationCanceledException)
                    throw new CommunicationTimeoutException(
                        $"rank {Rank}: could not open the collectives' TCP connection to rank {peer} at {endpoint} within {Owner.DefaultTimeout} ({e.Message}).", e);
                Thread.Sleep(50);   // refused or unreachable for now: the peer's side may still be coming up
            }
        }
    }

    public SocketRequest PostSend(byte* data, long bytes, int destination, int tag, long collectiveCount, System.Buffers.MemoryHandle pin)
    {
        var peer = _peers[destination]!;
        var request = new SocketRequest(this, isSend: true, data, bytes, destination, tag, collectiveCount, pin);
        peer.Enqueue(peer.Sends, request, this);
        return request;
    }

    public SocketRequest PostReceive(byte* data, long capacity, int source, System.Buffers.MemoryHandle pin)
    {
        var peer = _peers[source]!;
        var request = new SocketRequest(this, isSend: false, data, capacity, source, Communicator.AnyTag, -1, pin);
        peer.Enqueue(peer.Receives, request, this);
        return request;
    }

    /// <summary>Withdraws a request its I/O thread has not started on; false when it had started (wait for it).</summary>
    internal bool TryWithdraw(SocketRequest request)
    {
        var peer = _peers[request.Peer]!;
        var queue = request.IsSend ? peer.Sends : peer.Receives;
        lock (queue)
        {
            if (request.IsCompleted || queue.Count == 0 || (request.IsSend ? peer.SendStarted : peer.ReceiveStarted) && queue[0] == request) return false;
            if (!queue.Remove(request)) return false;
        }
        request.Fail(new OperationCanceledException($"{request.Describe()} was withdrawn."));
        return true;
    }

    private void SendLoop(Peer peer)
    {
        var socket = peer.Outgoing;
        var staging = new byte[HeaderBytes + InlineBytes];
        while (true)
        {
            SocketRequest request;
            lock (peer.Sends)
            {
                while (peer.Sends.Count == 0 && !_disposed) Monitor.Wait(peer.Sends);
                if (_disposed) return;
                request = peer.Sends[0];
                peer.SendStarted = true;
            }
            try
            {
                var header = staging.AsSpan(0, HeaderBytes);
                BinaryPrimitives.WriteInt64LittleEndian(header, request.Bytes);
                BinaryPrimitives.WriteInt64LittleEndian(header[8..], request.CollectiveCount);
                BinaryPrimitives.WriteInt32LittleEndian(header[16..], request.Tag);
                BinaryPrimitives.WriteInt32LittleEndian(header[20..], Magic);
                if (request.Bytes <= InlineBytes)
                {
                    new ReadOnlySpan<byte>(request.Buffer, (int)request.Bytes).CopyTo(staging.AsSpan(HeaderBytes));
                    SendAll(socket, staging.AsSpan(0, HeaderBytes + (int)request.Bytes));
                }
                else
                {
                    SendAll(socket, header);
                    for (long sent = 0; sent < request.Bytes;)
                    {
                        int piece = (int)Math.Min(request.Bytes - sent, 1 << 30);
                        SendAll(socket, new ReadOnlySpan<byte>(request.Buffer + sent, piece));
                        sent += piece;
                    }
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                Break(peer, e, "sending to");
                return;
            }
            lock (peer.Sends)
            {
                peer.SendStarted = false;
                if (peer.Sends.Count == 0 || peer.Sends[0] != request) continue;   // failed meanwhile (Break, Dispose)
                peer.Sends.RemoveAt(0);
            }
            request.Complete(request.Status, -1, null);
        }
    }

    private void ReceiveLoop(Peer peer)
    {
        var socket = peer.Incoming!;
        Span<byte> header = stackalloc byte[HeaderBytes];
        byte[]? discard = null;
        while (true)
        {
            SocketRequest request;
            long bytes, count;
            int tag;
            try
            {
                if (!ReceiveHeaderOrEnd(socket, header))
                {
                    PeerLeft(peer);
                    return;
                }
                bytes = BinaryPrimitives.ReadInt64LittleEndian(header);
                count = BinaryPrimitives.ReadInt64LittleEndian(header[8..]);
                tag = BinaryPrimitives.ReadInt32LittleEndian(header[16..]);
                if (BinaryPrimitives.ReadInt32LittleEndian(header[20..]) != Magic || bytes < 0)
                    throw new InvalidDataException($"a message header from rank {peer.Rank} is corrupt (magic {BinaryPrimitives.ReadInt32LittleEndian(header[20..]):X8}, length {bytes}): the stream is out of step");
                lock (peer.Receives)
                {
                    while (peer.Receives.Count == 0 && !_disposed) Monitor.Wait(peer.Receives);
                    if (_disposed) return;
                    request = peer.Receives[0];
                    peer.ReceiveStarted = true;
                }
                if (bytes <= request.Bytes)
                {
                    for (long received = 0; received < bytes;)
                    {
                        int piece = (int)Math.Min(bytes - received, 1 << 30);
                        ReceiveExactly(socket, new Span<byte>(request.Buffer + received, piece));
                        received += piece;
                    }
                }
                else
                {
                    discard ??= new byte[InlineBytes];
                    for (long left = bytes; left > 0; left -= Math.Min(left, discard.Length))
                        ReceiveExactly(socket, discard.AsSpan(0, (int)Math.Min(left, discard.Length)));
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException or InvalidDataException)
            {
                Break(peer, e, "receiving from");
                return;
            }
            lock (peer.Receives)
            {
                peer.ReceiveStarted = false;
                if (peer.Receives.Count == 0 || peer.Receives[0] != request) continue;   // failed meanwhile (Break, Dispose)
                peer.Receives.RemoveAt(0);
            }
            var status = new MessageStatus(peer.Rank, tag, bytes);
            request.Complete(status, count, bytes <= request.Bytes ? null : new CollectiveMismatchException(
                $"rank {Rank}: a collective message from rank {peer.Rank} is {bytes} bytes, longer than the {request.Bytes} bytes this rank expected: " +
                "the ranks passed different counts to the same collective, or called different collectives."));
        }
    }

    /// <summary>
    /// <paramref name="peer"/> closed its end between messages: it disposed its communicator, having received all it
    /// needed. Only this rank's receives from it can no longer complete; sends to it are left to the send thread,
    /// because a send the peer has already read may not have been marked complete yet (failing it was a race that
    /// ended correct jobs), and a send it never reads fails there on the closed socket.
    /// </summary>
    private void PeerLeft(Peer peer)
    {
        if (_disposed) return;
        var error = new CollectiveException(
            $"rank {Rank}: rank {peer.Rank} ({_endpoints[peer.Rank]}) closed the collectives' TCP connection (it left the communicator) while this rank still expected a message from it.");
        SocketRequest[] failed;
        lock (peer.Receives)
        {
            peer.Left = error;
            failed = peer.Receives.ToArray();
            peer.Receives.Clear();
        }
        foreach (var request in failed) request.Fail(error);
    }

    /// <summary>The connection to or from <paramref name="peer"/> failed: every request on either fails, naming the peer.</summary>
    private void Break(Peer peer, Exception cause, string doing)
    {
        if (_disposed) return;
        var error = new CollectiveException(
            $"rank {Rank}: the collectives' TCP connection to rank {peer.Rank} ({_endpoints[peer.Rank]}) failed while {doing} it: {cause.Message}", cause);
        peer.Broken = error;
        foreach (var queue in new[] { peer.Sends, peer.Receives })
        {
            SocketRequest[] failed;
            lock (queue)
            {
                failed = queue.ToArray();
                queue.Clear();
            }
            foreach (var request in failed) request.Fail(error);
        }
    }

    private static void SendAll(Socket socket, ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty) data = data[socket.Send(data)..];
    }

    /// <summary>Reads a message header; false when the peer closed the connection before its first byte.</summary>
    private static bool ReceiveHeaderOrEnd(Socket socket, Span<byte> header)
    {
        int got = socket.Receive(header);
        if (got == 0) return false;
        ReceiveExactly(socket, header[got..]);
        return true;
    }

    private static void ReceiveExactly(Socket socket, Span<byte> into)
    {
        while (!into.IsEmpty)
        {
            int got = socket.Receive(into);
            if (got == 0) throw new IOException("the peer closed the connection");
            into = into[got..];
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        var closed = new ObjectDisposedException(nameof(SocketChannel), $"rank {Rank}: the communicator was disposed with this request in flight.");
        foreach (var peer in _peers)
        {
            if (peer is null) continue;
            foreach (var queue in new[] { peer.Sends, peer.Receives })
            {
                SocketRequest[] pending;
                lock (queue)
                {
                    pending = queue.ToArray();
                    queue.Clear();
                    Monitor.PulseAll(queue);
                }
                foreach (var request in pending) request.Fail(closed);
            }
            peer.Outgoing.Dispose();
            peer.Incoming?.Dispose();
        }
        _listener.Dispose();
    }

    /// <summary>One rank on another node: the connection for this rank's sends to it and the one for its sends here.</summary>
    private sealed class Peer(int rank, Socket outgoing)
    {
        public readonly int Rank = rank;
        public readonly Socket Outgoing = outgoing;
        public Socket? Incoming;
        public readonly List<SocketRequest> Sends = new();       // in order; the first is being written when SendStarted
        public readonly List<SocketRequest> Receives = new();    // in order; the first is being filled when ReceiveStarted
        public bool SendStarted, ReceiveStarted;
        public volatile CollectiveException? Broken;
        public volatile CollectiveException? Left;   // the peer closed its end between messages: receives from it fail


        public void Start(SocketChannel channel)
        {
            new Thread(() => channel.SendLoop(this)) { IsBackground = true, Name = $"arn tcp to {Rank}" }.Start();
            new Thread(() => channel.ReceiveLoop(this)) { IsBackground = true, Name = $"arn tcp from {Rank}" }.Start();
        }

        /// <summary>Queues a request for the I/O thread, or fails it at once when the connection is already broken.</summary>
        public void Enqueue(List<SocketRequest> queue, SocketRequest request, SocketChannel channel)
        {
            lock (queue)
            {
                if (Broken is null && !channel._disposed && (Left is null || queue != Receives))
                {
                    queue.Add(request);
                    if (queue.Count == 1) Monitor.Pulse(queue);
                    return;
                }
            }
            request.Fail(Broken ?? Left ?? (Exception)new ObjectDisposedException(nameof(SocketChannel), $"rank {channel.Rank}: the communicator was disposed."));
        }
    }
}
