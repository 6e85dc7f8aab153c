using System.Globalization;
using System.Net;
using System.Text;
using IpsecExporter.Sources;
using IpsecExporter.Sources.Vici;

namespace IpsecExporter.Tests.Sources.Vici;

public sealed class ViciValuePoolTests
{
    [Fact]
    public void A_value_that_repeats_in_the_next_answer_is_the_same_string_and_a_changed_one_is_not()
    {
        var pool = new ViciValuePool();
        var first = pool.Text("7/c0000007/d0000007"u8);
        pool.NextAnswer();
        var again = pool.Text("7/c0000007/d0000007"u8);
        var changed = pool.Text("8/c0000008/d0000008"u8);

        Assert.Equal("7/c0000007/d0000007", first);
        Assert.Same(first, again);
        Assert.Equal("8/c0000008/d0000008", changed);
        Assert.NotSame(first, changed);
    }

    [Fact]
    public void A_one_item_list_and_an_address_are_made_once_while_their_text_repeats()
    {
        var pool = new ViciValuePool();
        var selectors = pool.Single("10.1.0.0/24"u8);
        var address = pool.Address("198.51.100.7"u8);
        pool.NextAnswer();

        Assert.Equal(["10.1.0.0/24"], selectors);
        Assert.Same(selectors, pool.Single("10.1.0.0/24"u8));
        Assert.Equal(IPAddress.Parse("198.51.100.7"), address);
        Assert.Same(address, pool.Address("198.51.100.7"u8));
        Assert.Null(pool.Address("not an address"u8));
        Assert.NotSame(selectors, pool.Single("10.2.0.0/24"u8));
    }

    [Fact]
    public void Values_it_does_not_pool_are_still_read_exactly()
    {
        var pool = new ViciValuePool();
        var utf8 = Encoding.UTF8.GetBytes("C=CH, O=r\u00e9seau, CN=gw");
        var longText = new string('a', ViciValuePool.MaxLength + 1);

        Assert.Equal("C=CH, O=r\u00e9seau, CN=gw", pool.Text(utf8));
        Assert.NotSame(pool.Text(utf8), pool.Text(utf8));
        Assert.Equal(longText, pool.Text(Encoding.ASCII.GetBytes(longText)));
        Assert.Equal(["C=CH, O=r\u00e9seau, CN=gw"], pool.Single(utf8));
        Assert.Equal(0, pool.Count);
    }

    [Fact]
    public void A_source_whose_values_churn_cannot_grow_the_pool_beyond_the_values_of_two_answers()
    {
        const int PerAnswer = 1000;
        var pool = new ViciValuePool();
        for (var answer = 0; answer < 50; answer++)
        {
            pool.NextAnswer();
            for (var i = 0; i < PerAnswer; i++)
            {
                var text = $"{answer}-{i}/c{i:x7}/d{i:x7}";
                Assert.Equal(text, pool.Text(Encoding.ASCII.GetBytes(text)));
            }
        }

        // Rebuilt with at most two answers' values in half the slots: 4,096 slots, at most 3/4 of them used.
        Assert.InRange(pool.Capacity, 1, 4096);
        Assert.InRange(pool.Count, PerAnswer, 3 * 4096 / 4);
    }

    [Fact]
    public void One_answer_with_more_distinct_values_than_the_pool_holds_stops_at_its_bound()
    {
        var pool = new ViciValuePool();
        var values = ViciValuePool.MaxEntries + 1000;
        for (var i = 0; i < values; i++)
        {
            var text = i.ToString(CultureInfo.InvariantCulture);
            Assert.Equal(text, pool.Text(Encoding.ASCII.GetBytes(text)));
        }

        Assert.InRange(pool.Count, 1, ViciValuePool.MaxEntries);

        // The next answer frees what the last two did not use.
        pool.NextAnswer();
        pool.NextAnswer();
        var fresh = pool.Text("fresh"u8);
        Assert.Same(fresh, pool.Text("fresh"u8));
        Assert.InRange(pool.Count, 1, ViciValuePool.MaxEntries);
    }

    [Fact]
    public void A_connections_list_sas_frames_share_the_strings_of_the_previous_answer()
    {
        var blocks = new ViciSectionBlocks();
        var frame = ViciCodec.EncodeFrame(new ViciPacket(ViciPacketType.Event, "list-sa", new ViciSection().AddSection("c17", new ViciSection()
            .Add("uniqueid", "17").Add("initiator-spi", "a1").Add("responder-spi", "e5").Add("state", "ESTABLISHED").Add("remote-host", "198.51.100.2")
            .AddSection("child-sas", new ViciSection().AddSection("net-33", new ViciSection()
                .Add("name", "net").Add("uniqueid", "33").Add("spi-in", "c1").Add("spi-out", "d1").Add("state", "INSTALLED")
                .AddList("local-ts", ["10.1.0.0/24"]).AddList("remote-ts", ["10.2.0.0/24"])))))).AsMemory(4);

        IkeSa Poll()
        {
            blocks.NextAnswer();
            var ikeSas = new List<IkeSa>();
            ViciSaMapper.MapListSa(ViciCodec.DecodeFrame(frame.ToArray(), blocks).Message!, ikeSas);
            return Assert.Single(ikeSas);
        }

        var first = Poll();
        var second = Poll();

        Assert.Equal("17/a1/e5", second.Key);
        Assert.Same(first.Key, second.Key);
        Assert.Same(first.Connection, second.Connection);
        Assert.Same(first.RemoteHost, second.RemoteHost);
        Assert.Same(first.ChildSas[0].Key, second.ChildSas[0].Key);
        Assert.Same(first.ChildSas[0].LocalTs, second.ChildSas[0].LocalTs);
        Assert.Same(first.ChildSas[0].RemoteTs, second.ChildSas[0].RemoteTs);
        Assert.Equal(["10.2.0.0/24"], second.ChildSas[0].RemoteTs);
    }
}
