using System.Text;
using AllReduceNet.Collectives.Algorithms;
using AllReduceNet.Collectives.Operators;

namespace AllReduceNet.Collectives;

/// <summary>
/// The optional check before a collective (CollectiveOptions.Validate, ALLREDUCENET_VALIDATE=1): every rank's
/// operation, element type, operator, count and root are all-gathered, and when they differ every rank fails with
/// the same message listing them all. Without it, mismatches are still caught at the first message that disagrees.
/// </summary>
internal static unsafe class ArgumentCheck
{
    private const int Fields = 5;

    public static void Run(Communicator comm, in CollectiveCall call, ReduceOp? op, int root)
    {
        int n = call.Size;
        var all = new long[Fields * n];
        long* mine = stackalloc long[Fields] { (long)call.Kind, (long)call.Type, (long)(op ?? 0), call.Count, root };
        new Span<long>(mine, Fields).CopyTo(all.AsSpan(Fields * call.Rank));
        var check = new CollectiveCall(comm, CollectiveKind.Internal, ElementType.Int64, null, Fields, new CollectiveOptions { Timeout = call.Timeout });
        fixed (long* p = all)
            RingPipeline.Run<long, NoOperator<long>>(check, p, new ChunkLayout(Fields * n, n), reduceScatter: false, allGather: true);

        bool same = true;
        for (int r = 1; r < n && same; r++)
            same = all.AsSpan(r * Fields, Fields).SequenceEqual(all.AsSpan(0, Fields));
        if (same) return;
        var text = new StringBuilder($"rank {call.Rank}: the ranks called collective #{call.CallNumber} with different arguments: ");
        for (int r = 0; r < n; r++)
        {
            var kind = (CollectiveKind)all[r * Fields];
            var type = ElementTypes.Name((ElementType)all[r * Fields + 1]);
            long opCode = all[r * Fields + 2], count = all[r * Fields + 3], rootOf = all[r * Fields + 4];
            text.Append(r == 0 ? "" : "; ").Append($"rank {r}: {CollectiveSignature.KindName(kind)} of {count} x {type}");
            if (opCode != 0) text.Append($" with {(ReduceOp)opCode}");
            if (rootOf >= 0) text.Append($", root {rootOf}");
        }
        throw new CollectiveMismatchException(text.Append('.').ToString());
    }
}
