// Package identtest holds the shared test corpora for identifiers: legitimate
// values every transport must accept and hostile ones every transport must
// refuse. The ident fuzz tests seed from them; the console and REST tests send
// them through their transport and expect the same verdict.
package identtest

// GoodDials are dial strings in real use; each must be accepted.
var GoodDials = []string{
	"user/1001",
	"user/1001@domain.example.com",
	"user/%s",
	"sofia/gateway/gw1/13800000000",
	"sofia/internal/1018@127.0.0.1:5070",
	"sofia/internal/sip:1000@10.0.0.5;transport=tcp",
	"{ignore_early_media=true}user/1001",
	"{origination_caller_id_number=4001,leg_timeout=20}sofia/gateway/gw1/13800000000",
	"{origination_caller_id_name='Hot Line'}user/1001",
	"{absolute_codec_string='PCMU,PCMA'}user/1001",
	"[leg_timeout=10]user/1001,[leg_timeout=20]sofia/gateway/gw1/1001",
	"user/1001,user/1002",
	"user/1001|sofia/gateway/gw1/13800000000",
	"user/1001:_:user/1002",
	"loopback/1001/default/XML",
	"loopback/9999",
	"{sip_h_X-Queue=110}user/1001",
	"{origination_caller_id_number=${caller_id_number}}user/1001",
	"user/1001@${domain_name}",
	"user/1001@$${domain}",
	"{}user/1001",
	"error/user_busy",
	"sofia/gateway/网关/1001",
	"{continue_on_fail=true}user/1001",
}

// BadDials would add an application, a second argument or an API call, or
// are not text; each must be refused.
var BadDials = []string{
	"user/1018 &system(touch /tmp/pwned)",
	"user/1018 &eavesdrop(all)",
	"user/1018&system(touch /tmp/pwned)",
	"user/1018 park",
	"user/1018 XML default",
	"user/1018\t&system(id)",
	"user/1018\n&system(id)",
	"user/1018\r\nbgapi system id",
	"user/1018\x00&system(id)",
	"user/1018\x7f",
	"user/1018\u00a0&park()",
	"user/1018\u2028x",
	"{execute_on_answer=system touch /tmp/pwned}user/1018",
	"{execute_on_answer='system touch /tmp/pwned'}user/1018",
	"{api_on_answer='system touch /tmp/pwned'}user/1018",
	"[api_hangup_hook='system id']user/1018",
	"<execute_on_originate=park>user/1018",
	"{exec_after_bridge_app=park}user/1018",
	"{bridge_pre_execute_bleg_app=park}user/1018",
	"{transfer_after_bridge=9999:XML:default}user/1018",
	"{session_in_hangup_hook=true}user/1018",
	"{EXECUTE_ON_ANSWER=park}user/1018",
	"{a=b}{execute_on_answer=park}user/1018",
	"user/1001,[execute_on_answer=park]user/1002",
	"${system(touch /tmp/pwned)}",
	"user/${system(touch /tmp/pwned)}",
	"{x=${system(id)}}user/1018",
	"user/${sofia_contact(1018@example.com)}",
	"user/1018${",
	"user/$1018",
	"{origination_caller_id_name=Hot Line}user/1001",
	"{origination_caller_id_name='Hot Line}user/1001",
	"{origination_caller_id_name='x' &system('id')}user/1001",
	"{a=b user/1001",
	"{a=b}}user/1001",
	"user/1001}",
	"{a={b=c}}user/1001",
	"{^^:a=b:execute_on_answer=park}user/1001",
	"{noequals}user/1001",
	"{nolocal:execute_on_answer=park}user/1001",
	"user/1018'&system(id)'",
	"user/1018\\ &system(id)",
	"user/10\xff18",
	"user/10\xef\xbf\xbd18",
	"",
}

// GoodNumbers are extensions, groups and caller numbers every transport takes.
var GoodNumbers = []string{"1001", "110", "12345", "*99", "#1", "+8613800000000", "a.b_c-d", "A1", "01234567890123456789012345678901234567890123456789"}

// BadNumbers are refused as an extension, group or caller number.
var BadNumbers = []string{
	"",
	"-bleg",
	"-1",
	"1003@evil.example.com",
	"1001 1002",
	"1001\n",
	"10\x0001",
	"1001&",
	"10/01",
	"10,01",
	"10{a}",
	"分机",
	"012345678901234567890123456789012345678901234567890", // 51
	"10\xff",
}

// GoodUUIDs and BadUUIDs are call uuids.
var (
	GoodUUIDs = []string{"7f8e1c2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b", "chan-1", "a_b.c"}
	BadUUIDs  = []string{"", "-bleg", "a b", "a;b", "a'b", "a\x00", "x{y}", "0123456789012345678901234567890123456789012345678901234567890123456789"}
)

// GoodGroupNames and BadGroupNames are group display names.
var (
	GoodGroupNames = []string{"Hotline", "热线 110", "一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三"} // 33 × 3 bytes = 99
	BadGroupNames  = []string{
		"",
		"一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十", // 40 × 3 bytes = 120 > 100
		"a\tb", "a\x00b", "a\xffb", "a\ufffdb", "a\u2028b",
	}
)
