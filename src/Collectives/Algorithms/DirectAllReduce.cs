using AllReduceNet.Collectives.Operators;

namespace AllReduceNet.Collectives.Algorithms;

/// <summary>
/// AllReduce for ranks that share an address space (the in-process transport): each rank reduces its own chunk
/// (1/N of the buffer) reading every rank's buffer directly, then copies the other chunks from their owners.
/// <para>
/// Why: with the buffers in one address space no byte needs to travel through messages. Each rank reads the buffer
/// once and writes it once (a ring reads and writes each byte 2(N-1)/N times over its 2(N-1) steps), and the ranks
/// meet at three barriers instead of handing off every segment of every step: with more ranks than cores, every
/// hand-off is a turn on a core that others wait for.
/// </para>
/// <para>
/// Steps: (1) publish the buffer, barrier; every rank now sees every buffer and count. (2) Reduce the own chunk in
/// blocks that stay in cache, the other ranks' operands in rank order, barrier. (3) Copy the other chunks from their
/// owners, barrier: no rank returns (and lets its caller reuse the buffer) while another still reads it. Each chunk is
/// computed by one rank and copied by the others, so the result is bitwise identical on every rank. The barriers'
/// messages carry the call's signature, so ranks that called another collective, type or operator are told so;
/// different counts are seen on the board before anything is read. A rank that fails anywhere in the call takes its
/// entry down and waits until no rank reads any more before it rethrows (<see cref="IPeerBuffers"/>).
/// </para>
/// </summary>
internal static unsafe class DirectAllReduce
{
    /// <summary>Elements per block of the reduction: 32 KiB, so a block of the own chunk stays in L1/L2 while every peer's operand is added.</summary>
    private const int BlockBytes = 32 << 10;

    public static void Run<T, TOp>(in CollectiveCall call, T* data, long count)
        where T : unmanaged where TOp : struct, IReduceOperator<T>
    {
        int n = call.Size, rank = call.Rank;
        if (n == 1) return;
        var board = call.Direct ?? throw new NotSupportedException($"rank {rank}: the {call.TransportName} transport cannot read other ranks' buffers.");
        // Counted in before anything is published or read, and out only once nothing more is read (see IPeerBuffers).
        board.EnterReading();
        bool counted = true;
        try
        {
            board.Publish(rank, data, count);
            BarrierDissemination.Run(call);
            // Counts first: every rank sees the same ones, so all report the same mismatch.
            for (int r = 0; r < n; r++)
                if (board.Count(r) != count)
                    throw call.CountMismatch($"rank {r} passed {board.Count(r)} x {ElementTypes.Name(call.Type)}.");
            // A rank that failed in the first barrier after sending its part of it may have let others through: its
            // entry is down, and its buffer is not read.
            for (int r = 0; r < n; r++)
                if (board.IsRetracted(r))
                    throw new CollectiveException($"rank {rank}: {call.Operation} (call #{call.CallNumber}): rank {r} left the call after a failure; nothing was read from it.");

            var layout = new ChunkLayout(count, n);
            ReduceOwnChunk<T, TOp>(data, layout.Offset(rank), layout.Length(rank), rank, n, board);
            BarrierDissemination.Run(call);
            for (int step = 1; step < n; step++)
            {
                int owner = (rank + step) % n;   // start at different owners, so the ranks do not all read one buffer at once
                long offset = layout.Offset(owner), bytes = layout.Length(owner) * sizeof(T);
                Buffer.MemoryCopy((T*)board.Buffer(owner) + offset, data + offset, bytes, bytes);
            }
            counted = false;
            board.LeaveReading();
            // No rank returns (and lets its caller reuse the buffer) before every rank has stopped reading.
            BarrierDissemination.Run(call);
        }
        catch (Exception error)
        {
            LeaveAfterFailure(call, board, rank, counted, error);
            throw;
        }
    }

    /// <summary>
    /// Takes this rank's entry down, tells the peers the call failed (so those waiting in a barrier leave it now, not
    /// at their timeout), and waits until no rank reads buffers any more. If even that wait runs out, the group is
    /// aborted, so every reader stops at its next wait, and the wait is made once more: this rank's caller must not
    /// get its buffer back while another rank reads it.
    /// </summary>
    private static void LeaveAfterFailure(in CollectiveCall call, IPeerBuffers board, int rank, bool counted, Exception error)
    {
        board.Retract(rank);
        if (counted) board.LeaveReading();
        call.NotifyPeersOfFailure(error);
        if (board.WaitUntilNoneReading(Deadline.After(call.Timeout))) return;
        board.Abort(rank, new CollectiveException(
            $"rank {rank}: {call.Operation} (call #{call.CallNumber}) failed, and other ranks were still reading its buffer {call.Timeout} later; aborting them.", error));
        board.WaitUntilNoneReading(Deadline.After(call.Timeout));
    }

    private static void ReduceOwnChunk<T, TOp>(T* data, long offset, long length, int rank, int n, IPeerBuffers board)
        where T : unmanaged where TOp : struct, IReduceOperator<T>
    {
        long block = Math.Max(1, BlockBytes / sizeof(T));
        for (long start = 0; start < length; start += block)
        {
            int len = (int)Math.Min(block, length - start);
            var mine = new Span<T>(data + offset + start, len);
            for (int r = 0; r < n; r++)
            {
                if (r == rank) continue;
                long reduceStart = Diagnostics.Timeline.Now();
                TOp.Apply(mine, new ReadOnlySpan<T>((T*)board.Buffer(r) + offset + start, len), mine);
                Diagnostics.Timeline.Reduced(reduceStart, (long)len * sizeof(T));
            }
        }
    }
}
