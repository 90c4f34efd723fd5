using AllReduceNet.Collectives.Operators;

namespace AllReduceNet.Collectives.Algorithms;

/// <summary>
/// The reproducible float AllReduce without a header and without 64-bit integers on the wire: a reduce-scatter by
/// pairwise exchange of the raw floats, then the ring's all-gather.
/// <para>
/// Why: the fixed-point sum needs, per block, the largest exponent of all ranks' addends before anything is
/// quantized. A ring's partial sums are quantized at every step, so it needs an exponent pass over the whole vector
/// and a MAX AllReduce first, and its partial sums travel as 64-bit integers, twice a float's bytes
/// (<see cref="ReproducibleRing"/>). Here the owner of a chunk receives every other rank's floats of it, so all
/// addends of each block meet at one rank, which takes the block's exponent from them, quantizes, adds exactly and
/// converts back in one pass while the segment is in cache (<see cref="FixedPointBlocks.CombineAll"/>), NaN and
/// infinities included. Each rank still sends (N-1)/N of the vector in the reduce-scatter, as floats, as the plain
/// ring does; it sends them to N-1 peers instead of one.
/// </para>
/// <para>
/// Vocabulary as in <see cref="RingPipeline"/>: a chunk is one rank's 1/N share (<see cref="ChunkLayout"/>, cut at
/// block boundaries), a segment the unit in flight. Rank r sends segment j of chunk p straight from the caller's
/// buffer to every rank p != r, and receives segment j of chunk r from every other rank into scratch slots, two
/// segments ahead; when all have arrived it writes segment j of its chunk r of the result. The all-gather of the
/// result's chunks is the plain ring's (<see cref="RingPipeline"/>, all-gather half).
/// </para>
/// <para>
/// The numbers are those of <see cref="ReproducibleSum"/> (blocks of 256, the same scale, the exact integer sum, the
/// same roundings back), so the bits equal every other algorithm's; the tests compare them. Float with one addend per
/// rank only (the AllReduce): several addends per rank would each have to travel raw.
/// </para>
/// </summary>
internal static unsafe class ReproducibleExchange
{
    private const int SegmentsInFlight = 2;

    /// <summary>
    /// Runs the exchange: <paramref name="result"/> receives the reproducible sum of every rank's
    /// <paramref name="count"/> floats at <paramref name="addends"/> (which may be <paramref name="result"/> itself).
    /// </summary>
    public static void Run(in CollectiveCall call, float* addends, float* result, long count)
    {
        int n = call.Size;
        var layout = new ChunkLayout(count, n, ReproducibleSum.BlockElements);
        if (n == 1)
        {
            FixedPointBlocks.CombineAll(&addends, 1, count, result);
            return;
        }
        if (layout.MaxLength == 0) return;
        // A segment holds as many elements as the plain ring's (the segment size counted in floats), cut at blocks.
        long blocksPerSegment = Math.Max(1, call.SegmentBytes / sizeof(float) / ReproducibleSum.BlockElements);
        long segmentElements = Math.Min(layout.MaxLength, blocksPerSegment * ReproducibleSum.BlockElements);
        int segments = (int)((layout.MaxLength + segmentElements - 1) / segmentElements);
        var slots = (float*)call.Slots(SegmentsInFlight * (n - 1) * segmentElements * sizeof(float));
        var exchange = new Exchange(call, addends, result, slots, layout, segmentElements, segments);
        try
        {
            for (int j = 0; j < segments; j++) exchange.Send(j);
            for (int j = 0; j < Math.Min(SegmentsInFlight, segments); j++) exchange.PostReceives(j);
            for (int j = 0; j < segments; j++)
            {
                exchange.FinishReceives(j);
                if (j + SegmentsInFlight < segments) exchange.PostReceives(j + SegmentsInFlight);
            }
            // The all-gather writes chunks that were sent from (in place): every send must be done first.
            exchange.WaitSends();
            exchange.Recycle();
        }
        catch
        {
            exchange.Withdraw();
            throw;
        }
        finally
        {
            exchange.Release();
        }
        RingPipeline.Run<float, SumOperator<float>>(call, result, layout, reduceScatter: false, allGather: true);
    }

    private readonly struct Exchange
    {
        private readonly CollectiveCall _call;
        private readonly float* _addends, _result, _slots;
        private readonly ChunkLayout _layout;
        private readonly long _segmentElements;
        private readonly int _segments, _n, _rank, _peers;
        private readonly PostedRequests _requests;   // [0, segments x peers): sends by (segment, peer); then (slot, peer) receives

        public Exchange(in CollectiveCall call, float* addends, float* result, float* slots, ChunkLayout layout, long segmentElements, int segments)
        {
            _call = call;
            _addends = addends;
            _result = result;
            _slots = slots;
            _layout = layout;
            _segmentElements = segmentElements;
            _segments = segments;
            _n = call.Size;
            _rank = call.Rank;
            _peers = _n - 1;
            _requests = new PostedRequests((_segments + SegmentsInFlight) * _peers);
        }

        /// <summary>The k-th other rank, counted from this one's right: the ranks start on different peers.</summary>
        private int Peer(int k) => (_rank + 1 + k) % _n;

        /// <summary>The slice of a chunk that segment j covers; empty past the chunk's end.</summary>
        private void Segment(int chunk, int j, out long offset, out long length)
        {
            long start = j * _segmentElements;
            offset = _layout.Offset(chunk) + start;
            length = Math.Clamp(_layout.Length(chunk) - start, 0, _segmentElements);
        }

        private float* Slot(int j, int k) => _slots + ((j % SegmentsInFlight) * _peers + k) * _segmentElements;

        private ref Request? ReceiveRequest(int j, int k) => ref _requests[(_segments + j % SegmentsInFlight) * _peers + k];

        /// <summary>Segment j of every other rank's chunk, raw from the caller's buffer, to that rank.</summary>
        public void Send(int j)
        {
            for (int k = 0; k < _peers; k++)
            {
                int peer = Peer(k);
                Segment(peer, j, out long offset, out long length);
                if (length > 0) _requests[j * _peers + k] = _call.Send(_addends + offset, length * sizeof(float), peer);
            }
        }

        /// <summary>Segment j of this rank's chunk from every other rank, each into its slot.</summary>
        public void PostReceives(int j)
        {
            Segment(_rank, j, out _, out long length);
            for (int k = 0; k < _peers; k++)
                ReceiveRequest(j, k) = length == 0 ? null : _call.Receive(Slot(j, k), length * sizeof(float), Peer(k));
        }

        /// <summary>Waits for segment j from every peer, then writes segment j of this rank's chunk of the result.</summary>
        public void FinishReceives(int j)
        {
            Segment(_rank, j, out long offset, out long length);
            if (length == 0) return;
            for (int k = 0; k < _peers; k++)
            {
                ref Request? receive = ref ReceiveRequest(j, k);
                _call.WaitReceive(receive, length * sizeof(float));
                _call.Recycle(receive);
                receive = null;
            }
            var vectors = stackalloc float*[_n];
            vectors[0] = _addends + offset;
            for (int k = 0; k < _peers; k++) vectors[k + 1] = Slot(j, k);
            FixedPointBlocks.CombineAll(vectors, _n, length, _result + offset);
        }

        public void WaitSends() => _requests.WaitSends(_call, _segments * _peers);

        public void Withdraw() => _requests.Withdraw();

        public void Recycle() => _requests.Recycle(_call);

        public void Release() => _requests.Release();
    }
}
