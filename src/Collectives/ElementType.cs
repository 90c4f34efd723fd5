namespace AllReduceNet.Collectives;

/// <summary>
/// The element types a collective can name on the wire. The code goes into every collective message's tag, so ranks
/// that pass different types are told so instead of reducing garbage.
/// </summary>
internal enum ElementType : byte
{
    Other = 0,
    Float = 1,
    Double = 2,
    Int32 = 3,
    Int64 = 4,
    Half = 5,
    Byte = 6,
}

internal static class ElementTypes
{
    public static ElementType Of<T>() where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return ElementType.Float;
        if (typeof(T) == typeof(double)) return ElementType.Double;
        if (typeof(T) == typeof(int)) return ElementType.Int32;
        if (typeof(T) == typeof(long)) return ElementType.Int64;
        if (typeof(T) == typeof(Half)) return ElementType.Half;
        if (typeof(T) == typeof(byte)) return ElementType.Byte;
        return ElementType.Other;
    }

    public static string NameOf<T>() where T : unmanaged => typeof(T).Name switch
    {
        "Single" => "float",
        "Double" => "double",
        "Int32" => "int",
        "Int64" => "long",
        _ => typeof(T).Name,
    };

    public static string Name(ElementType type) => type switch
    {
        ElementType.Float => "float",
        ElementType.Double => "double",
        ElementType.Int32 => "int",
        ElementType.Int64 => "long",
        ElementType.Half => "Half",
        ElementType.Byte => "byte",
        _ => "other",
    };
}
