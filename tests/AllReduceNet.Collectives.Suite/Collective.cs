namespace AllReduceNet.Collectives.Suite;

/// <summary>The collectives the suite checks.</summary>
public enum Collective { AllReduce, Broadcast, Reduce, AllGather, ReduceScatter, Barrier }
