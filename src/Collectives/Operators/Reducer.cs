using AllReduceNet.Collectives.Diagnostics;

namespace AllReduceNet.Collectives.Operators;

/// <summary>
/// An operator as a plain function pointer over raw bytes, so a transport that can see the sender's buffer (the
/// in-process one) can reduce straight from it into the receiver's values: one pass instead of a copy plus a pass.
/// </summary>
internal static unsafe class Reducer<T, TOp> where T : unmanaged where TOp : struct, IReduceOperator<T>
{
    /// <summary>mine[i] = mine[i] op incoming[i] over <paramref name="bytes"/> bytes.</summary>
    public static void Apply(void* mine, void* incoming, long bytes)
    {
        int count = (int)(bytes / sizeof(T));
        var target = new Span<T>(mine, count);
        long start = Timeline.Now();
        TOp.Apply(target, new ReadOnlySpan<T>(incoming, count), target);
        Timeline.Reduced(start, bytes);
    }

    public static delegate*<void*, void*, long, void> Pointer => &Apply;
}
