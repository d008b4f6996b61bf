// Offline oracle for ballast-gotemplate's tests (not part of the build): reads JSON lines
// {"name","tmpl","data","zero","defs"} on stdin, runs Go's text/template, and writes each
// line back with "out" and "err" filled in. Integers in data become Go ints, other numbers
// float64. Run: go run main.go < cases.jsonl > ../data/exec_cases.jsonl
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/template"
)

type testCase struct {
	Name string      `json:"name"`
	Tmpl string      `json:"tmpl"`
	Data json.RawMessage `json:"data"`
	Zero bool        `json:"zero"`
	Out  *string     `json:"out"`
	Err  *string     `json:"err"`
}

func convert(v interface{}) interface{} {
	switch x := v.(type) {
	case json.Number:
		s := string(x)
		if strings.ContainsAny(s, ".eE") {
			f, _ := x.Float64()
			return f
		}
		i, _ := x.Int64()
		return int(i)
	case map[string]interface{}:
		for k, e := range x {
			x[k] = convert(e)
		}
		return x
	case []interface{}:
		for i, e := range x {
			x[i] = convert(e)
		}
		return x
	}
	return v
}

func funcs() template.FuncMap {
	return template.FuncMap{
		"upper": func(a interface{}) (interface{}, error) {
			s, ok := a.(string)
			if !ok {
				return nil, errors.New("not a string")
			}
			return strings.ToUpper(s), nil
		},
		"echo": func(a ...interface{}) interface{} {
			if len(a) == 0 {
				return nil
			}
			return a[0]
		},
		"oneArg":  func(a interface{}) interface{} { return fmt.Sprintf("oneArg=%v", a) },
		"twoArgs": func(a, b interface{}) interface{} { return fmt.Sprintf("twoArgs=%v%v", a, b) },
		"fail":    func() (interface{}, error) { return nil, errors.New("it failed") },
		"dict": func(a ...interface{}) interface{} {
			m := map[string]interface{}{}
			for i := 0; i+1 < len(a); i += 2 {
				m[fmt.Sprint(a[i])] = a[i+1]
			}
			return m
		},
		"list":  func(a ...interface{}) interface{} { return a },
		"float": func(a interface{}) interface{} { return float64(a.(int)) },
		"add": func(a ...interface{}) interface{} {
			n := 0
			for _, x := range a {
				n += x.(int)
			}
			return n
		},
		"die":        func() (interface{}, error) { return nil, errors.New("die") },
		"zeroArgs":   func() interface{} { return "zeroArgs" },
		"mapOfThree": func() interface{} { return map[string]interface{}{"three": 3} },
		"makemap": func(a ...interface{}) interface{} {
			m := map[string]interface{}{}
			for i := 0; i+1 < len(a); i += 2 {
				m[a[i].(string)] = a[i+1]
			}
			return m
		},
	}
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<24)
	out := json.NewEncoder(os.Stdout)
	out.SetEscapeHTML(false)
	for in.Scan() {
		var c testCase
		if err := json.Unmarshal(in.Bytes(), &c); err != nil {
			panic(err)
		}
		var data interface{}
		dec := json.NewDecoder(bytes.NewReader(c.Data))
		dec.UseNumber()
		if err := dec.Decode(&data); err != nil {
			panic(err)
		}
		data = convert(data)
		t := template.New("t").Funcs(funcs())
		if c.Zero {
			t = t.Option("missingkey=zero")
		}
		var o, e string
		if _, err := t.Parse(c.Tmpl); err != nil {
			e = err.Error()
		} else {
			var b bytes.Buffer
			if err := t.Execute(&b, data); err != nil {
				e = err.Error()
			} else {
				o = b.String()
			}
		}
		c.Out, c.Err = &o, &e
		out.Encode(&c)
	}
}
