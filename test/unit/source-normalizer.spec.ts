import { normalizeSource } from '../../src/auto-migration/discovery/source-normalizer';

const n = normalizeSource;

describe('normalizeSource', () => {
  describe('comments', () => {
    it('drops line comments', () => {
      expect(n('a = 1; // set a\nb = 2; // set b')).toBe(n('a = 1;\nb = 2;'));
      expect(n('a = 1; // set a\nb = 2;')).toBe('a=1;b=2;');
    });

    it('drops block and JSDoc comments, including ones spanning lines', () => {
      const plain = 'up(db) { db.exec(sql); }';
      expect(n('up(db) { /* run it */ db.exec(sql); }')).toBe(n(plain));
      expect(n('/**\n * Creates users.\n * @param db the db\n */\nup(db) {\n  db.exec(sql); /* a\n  multi-line\n  note */\n}')).toBe(n(plain));
    });

    it('keeps two tokens apart where a comment separated them', () => {
      expect(n('return/* why */x')).toBe('return x');
      expect(n('a +/* c */+b')).toBe(n('a + +b'));
    });

    it('a comment at the very end without a newline is dropped', () => {
      expect(n('x = 1; // trailing')).toBe('x=1;');
      expect(n('x = 1; /* unterminated')).toBe('x=1;');
    });
  });

  describe('whitespace', () => {
    it('ignores indentation, newlines and spacing between tokens', () => {
      const compact = 'up(db){db.exec("CREATE TABLE t (id INTEGER)");const n=db.prepare("SELECT 1").get();return n;}';
      const spread = `up ( db )
      {
          db.exec( "CREATE TABLE t (id INTEGER)" ) ;
\t\tconst   n =
            db.prepare("SELECT 1")
              .get();
          return n;
      }`;
      expect(n(spread)).toBe(n(compact));
      expect(n(spread)).toBe(compact);
    });

    it('treats CRLF and LF line endings alike', () => {
      expect(n('a = 1;\r\nb = 2;\r\n')).toBe(n('a = 1;\nb = 2;\n'));
    });

    it('keeps one space between words: `return x` stays `return x`', () => {
      expect(n('return x')).toBe('return x');
      expect(n('return    \n   x')).toBe('return x');
      expect(n('return x')).not.toBe(n('returnx'));
      expect(n('const  value  =  typeof  y')).toBe('const value=typeof y');
    });

    it('keeps `a + +b` and `a++b` different (and `a - -b` / `a--b`)', () => {
      expect(n('a + +b')).not.toBe(n('a++b'));
      expect(n('a - -b')).not.toBe(n('a--b'));
      expect(n('a + +b')).toBe('a+ +b');
      expect(n('a++b')).toBe('a++b');
      // but the spacing around them is still free
      expect(n('a  +  +b')).toBe(n('a + +b'));
      expect(n('a + b')).toBe(n('a+b'));
    });
  });

  describe('string literals', () => {
    it('keep their content', () => {
      expect(n(`x = 'CREATE TABLE users'`)).toBe(`x='CREATE TABLE users'`);
      expect(n(`x = "a b"`)).not.toBe(n(`x = "a c"`));
      expect(n(`x = "ab"`)).not.toBe(n(`x = "a b"`));
    });

    it('collapse runs of white space inside them to one space', () => {
      expect(n(`x = "a    b"`)).toBe(n(`x = "a b"`));
      expect(n(`x = 'a \\t  b'`)).toBe(`x='a \\t b'`);
    });

    it('are not mistaken for comments when they contain // or /*', () => {
      expect(n(`x = "http://example.com"; y = 1`)).toBe(`x="http://example.com";y=1`);
      expect(n(`x = '/* not a comment */'; y = 1`)).toBe(`x='/* not a comment */';y=1`);
    });

    it('handle escaped quotes', () => {
      expect(n(`x = 'it\\'s  // here'; y = 2`)).toBe(`x='it\\'s // here';y=2`);
      expect(n(`x = "say \\"hi\\"  now"`)).toBe(`x="say \\"hi\\" now"`);
    });
  });

  describe('template literals', () => {
    const sql = (body: string) => `up(db) { db.exec(\`${body}\`); }`;

    it('re-indenting SQL inside a template does not change the output', () => {
      const a = sql('\n    CREATE TABLE users (\n      id INTEGER PRIMARY KEY,\n      email TEXT NOT NULL\n    )\n  ');
      const b = sql('\n        CREATE TABLE users (\n            id    INTEGER PRIMARY KEY,\n            email TEXT    NOT NULL\n        )\n');
      expect(n(a)).toBe(n(b));
    });

    it('changing a word inside the SQL does change the output', () => {
      expect(n(sql('CREATE TABLE users (id INTEGER)'))).not.toBe(n(sql('CREATE TABLE accounts (id INTEGER)')));
      expect(n(sql('CREATE TABLE users (id INTEGER)'))).not.toBe(n(sql('CREATE TABLE users (id TEXT)')));
    });

    it('keeps // and /* inside template text', () => {
      expect(n('x = `a // b /* c */ d`; y = 1')).toBe('x=`a // b /* c */ d`;y=1');
    });

    it('handles ${...} substitutions whose code contains braces', () => {
      const src = 'x = `a ${ { k: 1 }.k } b ${ fn({ y: 2 }) }  c`; z = 3';
      expect(n(src)).toBe('x=`a ${{k:1}.k} b ${fn({y:2})} c`;z=3');
    });

    it('handles nested templates inside substitutions', () => {
      const src = 'x = `outer ${ `inner ${ deep } text` }  end`; // note\ny = 1';
      expect(n(src)).toBe('x=`outer ${`inner ${deep} text`} end`;y=1');
    });

    it('handles strings, comments and regexes containing } inside substitutions', () => {
      expect(n('x = `${ "}" }  q`; y = 1')).toBe('x=`${"}"} q`;y=1');
      expect(n('x = `${ a /* } */ }  q`; y = 1')).toBe('x=`${a} q`;y=1');
      expect(n('x = `${ /}/.test(a) }  q`; y = 1')).toBe('x=`${/}/.test(a)} q`;y=1');
    });

    it('handles escaped backticks and escaped ${', () => {
      expect(n('x = `a \\` b  \\${ c }`; y = 1')).toBe('x=`a \\` b \\${ c }`;y=1');
    });
  });

  describe('regular expression literals', () => {
    it('a regex containing // is not a line comment', () => {
      const src = 'const ok = /https?:\\/\\//.test(s) && s.length > 0; // note';
      expect(n(src)).toBe('const ok=/https?:\\/\\//.test(s)&&s.length>0;');
    });

    it('a regex containing /* is not a block comment', () => {
      expect(n('x = /a\\/*b/; y = 1 + 2; /* c */')).toBe('x=/a\\/*b/;y=1+2;');
      expect(n('x = s.replace(/[/*]/g, ""); y = 1')).toBe('x=s.replace(/[/*]/g,"");y=1');
    });

    it('a regex after return or in an argument list keeps its content', () => {
      expect(n('return /\\/\\/ x/.test(s)')).toBe('return/\\/\\/ x/.test(s)');
      expect(n('f( /a  b/g )')).toBe('f(/a  b/g)');
    });

    it('a regex whose character class holds a / is read to its real end', () => {
      expect(n('x = /[/]+/.test(a); // c\ny = 1')).toBe('x=/[/]+/.test(a);y=1');
      expect(n('x = /[\\]/]/.test(a); y = 1')).toBe('x=/[\\]/]/.test(a);y=1');
    });
  });

  describe('division', () => {
    it('`a / b / c` is division, not a regex', () => {
      expect(n('x = a / b / c')).toBe('x=a/b/c');
      expect(n('x = a / b / c')).toBe(n('x = a/b/c'));
    });

    it('division after ), ] and numbers is not a regex either', () => {
      expect(n('x = (a + 1) / 2 / c; // half')).toBe('x=(a+1)/2/c;');
      expect(n('x = arr[0] / 2 / y')).toBe('x=arr[0]/2/y');
      expect(n('x = 10 / 4 / 2')).toBe('x=10/4/2');
    });

    it('a comment after a division is still dropped', () => {
      expect(n('x = a / b; // ratio\ny = c / d;')).toBe(n('x = a/b;\ny = c/d;'));
    });
  });

  describe('division after a postfix operator or a property named like a keyword', () => {
    it.each([
      ['x = a++ / 2 / 3', 'x = a++/2/3'],
      ['x = i-- / 2', 'x = i--/2'],
      ['x = y.return / 2 / 3', 'x=y.return/2/3'],
    ])('%j normalises like %j', (a, b) => {
      expect(normalizeSource(a)).toBe(normalizeSource(b));
    });

    it('drops a comment after a postfix division', () => {
      expect(normalizeSource('x = a++ / 2; // note\ny = 1')).toBe('x=a++/2;y=1');
    });
  });
});
