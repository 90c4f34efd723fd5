namespace AllReduceNet.Collectives.Algorithms;

/// <summary>
/// Barrier by dissemination (Hensgen, Finkel and Manber): in round k = 1, 2, 4, ... each rank signals rank + k and
/// waits for rank - k, with empty messages. After ceil(log2 N) rounds every rank has heard, directly or through
/// others, from every other rank, so none can leave before all have arrived.
/// </summary>
internal static unsafe class BarrierDissemination
{
    public static void Run(in CollectiveCall call)
    {
        int n = call.Size, r = call.Rank;
        for (int distance = 1; distance < n; distance *= 2)
        {
            var receive = call.Receive(null, 0, (r - distance + n) % n);
            var send = call.Send(null, 0, (r + distance) % n);
            call.WaitReceive(receive, 0);
            call.WaitSend(send);
            call.Recycle(receive);
            call.Recycle(send);
        }
    }
}
