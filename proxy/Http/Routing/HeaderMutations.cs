namespace Herald.Proxy.Http.Routing;

/// <summary>
/// Headers to add and remove for one direction of a route, already merged in Envoy's order
/// (route, then virtual host, then route configuration).
/// </summary>
internal sealed class HeaderMutations
{
    public HeaderMutations(IReadOnlyList<HeaderToAdd> add, IReadOnlyList<string> remove)
    {
        Add = [.. add];
        Remove = [.. remove];
    }

    public static HeaderMutations Empty { get; } = new([], []);

    // Arrays, not IReadOnlyList: the forwarders walk these with foreach on every request, and
    // an interface enumerator would be a heap allocation per walk.
    public HeaderToAdd[] Add { get; }

    /// <summary>Lower-case names.</summary>
    public string[] Remove { get; }

    public bool IsEmpty => Add.Length == 0 && Remove.Length == 0;
}
