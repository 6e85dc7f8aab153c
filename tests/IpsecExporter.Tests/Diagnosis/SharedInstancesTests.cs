using IpsecExporter.Diagnosis;

namespace IpsecExporter.Tests.Diagnosis;

public sealed class SharedInstancesTests
{
    private static readonly DateTimeOffset At = new(2026, 12, 5, 6, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Equal_values_are_one_instance()
    {
        var pool = new SharedInstances<string>(8, StringComparer.Ordinal);
        var first = pool.Of(new string('a', 3));
        var second = pool.Of(new string('a', 3));

        Assert.Same(first, second);
        Assert.NotSame(first, pool.Of("b"));
    }

    [Fact]
    public void The_pool_starts_again_when_full_so_changing_values_cannot_grow_it()
    {
        var pool = new SharedInstances<string>(4, StringComparer.Ordinal);
        for (var i = 0; i < 100; i++)
        {
            Assert.Equal($"loss {i}%", pool.Of($"loss {i}%"));
            Assert.InRange(pool.Count, 1, 4);
        }
    }

    [Fact]
    public void Texts_made_for_two_tunnels_are_one_instance_and_the_inputs_are_let_go()
    {
        var made = 0;
        Func<string> make = () =>
        {
            made++;
            return string.Concat("CHILD rekey 1h is 25.0% of IKE rekey ", "4h");
        };
        var first = new LazyText(make);
        var second = new LazyText(make);

        Assert.Same(first.Value, second.Value);
        Assert.Same(first.Value, first.Value);
        Assert.Equal(2, made);
    }

    [Fact]
    public void Equal_event_messages_of_two_tunnels_are_one_instance()
    {
        List<TunnelEvent> one = [], other = [];
        TunnelEvents.Append(one, new TunnelEvent(At, "verdict", string.Concat("unknown -> healthy: ", "Phase 1 up")));
        TunnelEvents.Append(other, new TunnelEvent(At, "verdict", string.Concat("unknown -> healthy: ", "Phase 1 up")));

        Assert.Equal("unknown -> healthy: Phase 1 up", one[0].Message);
        Assert.Same(one[0].Message, other[0].Message);
    }
}
