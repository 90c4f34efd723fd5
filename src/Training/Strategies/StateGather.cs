using AllReduceNet.Collectives;
using AllReduceNet.Training.Optim;

namespace AllReduceNet.Training.Strategies;

/// <summary>
/// Assembles full vectors from ranks that each own a contiguous range: every rank contributes its range into an
/// otherwise zero vector and the vectors are summed by AllReduce. x + 0 is exact, so the result is bitwise the owners'
/// values. Ranks that own nothing pass an empty range.
/// </summary>
internal static class StateGather
{
    public static float[] Assemble(Communicator world, int count, int start, ReadOnlySpan<float> owned)
    {
        var full = new float[count];
        owned.CopyTo(full.AsSpan(start));
        world.AllReduce<float>(full, ReduceOp.Sum);
        return full;
    }

    public static float[][] AssembleSlots(Communicator world, Optimizer? optimizer, int slotCount, int count, int start)
    {
        var slots = new float[slotCount][];
        for (int s = 0; s < slotCount; s++)
        {
            var owned = new float[optimizer?.Length ?? 0];
            optimizer?.ReadSlot(s, owned);
            slots[s] = Assemble(world, count, start, owned);
        }
        return slots;
    }

    /// <summary>The largest optimizer step count over the ranks (ranks without an optimizer pass 0).</summary>
    public static long MaxSteps(Communicator world, long steps)
    {
        Span<long> value = [steps];
        world.AllReduce(value, ReduceOp.Max);
        return value[0];
    }
}
