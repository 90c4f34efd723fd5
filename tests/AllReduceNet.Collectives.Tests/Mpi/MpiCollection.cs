namespace AllReduceNet.Collectives.Tests.Mpi;

/// <summary>The MPI jobs run one at a time: on two cores, two 4-rank jobs at once would only slow each other down.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MpiCollection
{
    public const string Name = "MPI jobs";
}
