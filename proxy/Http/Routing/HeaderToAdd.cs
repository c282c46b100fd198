using System.Text;

namespace Herald.Proxy.Http.Routing;

/// <summary>A header a route adds; bytes are computed once so the forwarder copies them as is.</summary>
internal sealed record HeaderToAdd(string Name, string Value, HeaderAppendAction Action)
{
    // Get-only, so a `with` copy cannot leave the byte arrays stale.
    public string Name { get; } = Name;

    public string Value { get; } = Value;

    public HeaderAppendAction Action { get; } = Action;

    public byte[] NameBytes { get; } = Encoding.UTF8.GetBytes(Name);

    public byte[] ValueBytes { get; } = Encoding.UTF8.GetBytes(Value);

    // The byte arrays are derived from the strings; compare by the strings only.
    public bool Equals(HeaderToAdd? other) =>
        other is not null
        && string.Equals(Name, other.Name, StringComparison.Ordinal)
        && string.Equals(Value, other.Value, StringComparison.Ordinal)
        && Action == other.Action;

    public override int GetHashCode() => HashCode.Combine(Name, Value, Action);
}
