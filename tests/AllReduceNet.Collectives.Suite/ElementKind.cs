namespace AllReduceNet.Collectives.Suite;

/// <summary>The element types the suite runs collectives on; <see cref="CaseRunner"/> maps each to its generic type.</summary>
public enum ElementKind { Float, Double, Int, Long, Half, Byte }
