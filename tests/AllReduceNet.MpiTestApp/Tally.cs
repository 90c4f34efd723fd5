using System.Runtime.InteropServices;

namespace AllReduceNet.MpiTestApp;

/// <summary>One rank's count of checks and failures; prints the first 20 failures, naming the rank.</summary>
internal sealed class Tally(int rank)
{
    public int Checks { get; private set; }

    public int Failures { get; private set; }

    public void Check(bool ok, string what)
    {
        Checks++;
        if (ok) return;
        if (++Failures <= 20) Console.WriteLine($"rank {rank}: FAILED {what}");
    }

    /// <summary>Compares bit for bit; a failure names the first element that differs.</summary>
    public void Expect<T>(T[] actual, T[] expected, string what) where T : unmanaged
    {
        if (MemoryMarshal.AsBytes(actual.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(expected.AsSpan()))) { Check(true, what); return; }
        int first = 0;
        while (first < actual.Length && first < expected.Length && actual[first].Equals(expected[first])) first++;
        Check(false, $"{what}: {actual.Length} vs {expected.Length} elements, first difference at {first}: " +
                     $"{(first < actual.Length ? actual[first].ToString() : "-")} vs {(first < expected.Length ? expected[first].ToString() : "-")}");
    }
}
