namespace AllReduceNet.Collectives.Suite;

/// <summary>How the odd rank of a <see cref="MismatchScenario"/> departs from what the others do.</summary>
public enum MismatchKind
{
    /// <summary>It passes one element fewer.</summary>
    Count,
    /// <summary>It reduces with Max where the others reduce with Sum.</summary>
    Operator,
    /// <summary>It reduces ints where the others reduce floats: the same bytes on the wire.</summary>
    ElementType,
    /// <summary>It calls AllReduce where the others call Broadcast.</summary>
    Collective,
    /// <summary>It throws instead of making the call.</summary>
    Throws,
    /// <summary>It returns without making the call (in-process its communicator is disposed as its thread ends).</summary>
    Leaves,
}
